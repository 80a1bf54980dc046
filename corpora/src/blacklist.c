/* blacklist.c -- the kernel's ways of forbidding kprobes on a function.
 * Built into hazards.so (section names survive as orphan output
 * sections), kmod.o (ET_REL: sections and _kprobe_blacklist relocations
 * survive) and vmlinux (vmlinux.lds folds the sections into .text, only
 * the __*_text_start/__*_text_end symbols tell).
 *
 * Every function is non-static, non-trivial (a loop over memory so the
 * body is several instructions) and marked noinline.
 */
#define __kprobes   __attribute__((section(".kprobes.text")))
#define noinstr     __attribute__((noinline, section(".noinstr.text")))
#define __entry     __attribute__((section(".entry.text")))
#define __irqentry  __attribute__((section(".irqentry.text")))
/* As in <linux/kprobes.h>: record the function's address in the
 * _kprobe_blacklist section.  On ppc64 ELFv1 a function's address is its
 * .opd descriptor, so the entry points at the descriptor, not the code. */
#define NOKPROBE_SYMBOL(f) \
	static unsigned long __attribute__((used, section("_kprobe_blacklist"))) \
	_kbl_addr_##f = (unsigned long)f;

#define BODY(p, n, k)                                   \
	unsigned long s = (k);                          \
	for (unsigned long i = 0; i < (n); i++)         \
		s = (s * 31) ^ (p)[i];                  \
	return s + (n);

/* .kprobes.text: the whole function is blacklisted (hazardous). */
__attribute__((noinline)) __kprobes
unsigned long kp_func(const unsigned long *p, unsigned long n)
{
	BODY(p, n, 1)
}

/* noinstr (.noinstr.text): blacklisted (hazardous). */
noinstr unsigned long noinstr_func(const unsigned long *p, unsigned long n)
{
	BODY(p, n, 2)
}

/* .entry.text: blacklisted (hazardous). */
__attribute__((noinline)) __entry
unsigned long entry_func(const unsigned long *p, unsigned long n)
{
	BODY(p, n, 3)
}

/* .irqentry.text: blacklisted (hazardous). */
__attribute__((noinline)) __irqentry
unsigned long irqentry_func(const unsigned long *p, unsigned long n)
{
	BODY(p, n, 4)
}

/* Ordinary .text, but listed in _kprobe_blacklist: hazardous. */
__attribute__((noinline))
unsigned long nokprobe_a(const unsigned long *p, unsigned long n)
{
	BODY(p, n, 5)
}
NOKPROBE_SYMBOL(nokprobe_a)

__attribute__((noinline))
unsigned long nokprobe_b(const unsigned long *p, unsigned long n)
{
	BODY(p, n, 6)
}
NOKPROBE_SYMBOL(nokprobe_b)

/* Ordinary .text, NOT blacklisted: safe everywhere. */
__attribute__((noinline))
unsigned long not_blacklisted(const unsigned long *p, unsigned long n)
{
	BODY(p, n, 7)
}
