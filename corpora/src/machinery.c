/* machinery.c -- the probe machinery's own call graph, kernel style.
 * Linked like vmlinux (src/vmlinux.lds, at the kernel's base address) as
 * <target>/machinery.  The root carries the name of the architecture's
 * breakpoint handler (the function the kernel's trap path calls first into
 * the kprobes core), so probesafe finds it as it does in a real kernel.
 *
 *   ROOT -> listed_helper      NOKPROBE_SYMBOL: blacklisted, still walked
 *        -> unlisted_helper    not listed: a probe there fires inside the
 *             -> tail_target   trap path (tail call: a jump, not a call)
 *   kprobe_dispatcher -> handler_helper   user-handler side: a hit there is
 *                                         counted as missed
 *   unreached                  nothing of the machinery calls it
 *   inline_caller              not listed, inlines nokprobe_inlined, whose
 *                              out-of-line copy is listed
 */
#define noinline __attribute__((noinline))
#define NOKPROBE_SYMBOL(f) \
	static unsigned long __attribute__((used, section("_kprobe_blacklist"))) \
	_kbl_addr_##f = (unsigned long)f;

#if defined(__x86_64__)
#define ROOT kprobe_int3_handler
#elif defined(__aarch64__)
#define ROOT kprobe_breakpoint_handler
#else
#define ROOT kprobe_handler
#endif

volatile unsigned long sink;
unsigned long table[16];

#define BODY(x, k)                                      \
	unsigned long s = (x);                          \
	for (unsigned long i = 0; i < (x) % 16; i++)    \
		s = (s * 31) ^ table[i] ^ (k);          \
	return s;

noinline unsigned long listed_helper(unsigned long x) { BODY(x, 1) }
NOKPROBE_SYMBOL(listed_helper)

noinline unsigned long tail_target(unsigned long x) { BODY(x, 2) }

noinline unsigned long unlisted_helper(unsigned long x)
{
	sink = x;
	return tail_target(x + 1);
}

noinline unsigned long unreached(unsigned long x) { BODY(x, 3) }

noinline unsigned long handler_helper(unsigned long x) { BODY(x, 4) }

static inline __attribute__((always_inline)) unsigned long
nokprobe_inlined(unsigned long x)
{
	unsigned long s = x;
	for (unsigned long i = 0; i < x % 8; i++)
		s = (s << 3) ^ table[i + 8];
	return s;
}
NOKPROBE_SYMBOL(nokprobe_inlined)

noinline unsigned long inline_caller(unsigned long x)
{
	return nokprobe_inlined(x) * 3 + 1;
}

noinline unsigned long ROOT(unsigned long x)
{
	unsigned long r = listed_helper(x);
	return r + unlisted_helper(r);
}
NOKPROBE_SYMBOL(ROOT)

noinline unsigned long kprobe_dispatcher(unsigned long x)
{
	return handler_helper(x) + 1;
}
NOKPROBE_SYMBOL(kprobe_dispatcher)

void _start(void)
{
	sink = ROOT(1) + kprobe_dispatcher(2) + unreached(3) + inline_caller(4);
	for (;;)
		;
}
