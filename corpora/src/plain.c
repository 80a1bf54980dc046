/* plain.c -- ordinary code with NO probe hazard, plus the two gray cases
 * (tail-call exits and an ifunc resolver).  Built into every hazards.so.
 *
 * Every function here is straight-line or loops with plain loads/stores:
 * a probe anywhere on an instruction boundary is safe, except for
 *   - wrapper / wrapper_plt: their final call is compiled as a jump
 *     (tail call), so a return probe must treat the jump as an exit (gray);
 *   - fast: an STT_GNU_IFUNC symbol whose address is the resolver (gray).
 */

/* Straight-line arithmetic: safe everywhere. */
int add3(int a, int b, int c)
{
	return a + b + c;
}

/* Multiply-accumulate: safe everywhere. */
long mul_add(long a, long b, long c)
{
	return a * b + c;
}

/* A simple counted loop: safe everywhere (a back edge is not a hazard). */
unsigned int sum_array(const unsigned int *p, unsigned long n)
{
	unsigned int s = 0;
	for (unsigned long i = 0; i < n; i++)
		s += p[i] ^ (unsigned int)i;
	return s;
}

/* A switch with distinct arms (compiled to compares or a jump table):
 * safe everywhere. */
int classify(int x, int y)
{
	switch (x) {
	case 0: return y + 17;
	case 1: return y * 3;
	case 2: return y - 99;
	case 3: return y ^ 0x5a5a;
	case 4: return y << 3;
	case 5: return y >> 2;
	case 6: return ~y;
	default: return -1;
	}
}

/* Static helper kept out of line: after `strip --strip-all` it has no
 * symbol at all; only its .eh_frame FDE tells where it is.  Safe. */
static __attribute__((noinline)) int scramble(int x)
{
	x ^= x >> 7;
	x *= 0x2545f491;
	return x ^ (x >> 11);
}

int uses_static(int x)
{
	return scramble(x) + scramble(x + 1);
}

/* Tail call to a HIDDEN (locally bound) callee: every target, ppc64
 * ELFv1/ELFv2 included, turns the call into a direct jump `jmp callee` /
 * `b callee`.  function("wrapper").return is gray (tail-call-exit). */
__attribute__((noinline, visibility("hidden"))) int callee(int x)
{
	return (x * 3) ^ 0x55;
}

int wrapper(int x)
{
	return callee(x + 1);
}

/* Tail call to a DEFAULT-visibility (preemptible) callee: on x86_64 and
 * aarch64 it becomes `jmp callee_ext@plt` / `b <plt>` (tail-call-exit);
 * on ppc64 ELFv1/ELFv2 gcc may not sibcall a preemptible function (the
 * TOC must be restored after the call), so it stays `bl; nop; ...; blr`. */
__attribute__((noinline)) int callee_ext(int x)
{
	return (x * 5) ^ 0xaa;
}

int wrapper_plt(int x)
{
	return callee_ext(x + 2);
}

/* Self-recursive: gcc turns one of the two calls into a loop, the other
 * remains a real call to fib.  noinline stops gcc 12 from inlining fib
 * into itself several levels deep (1 KB of code).  Safe everywhere. */
__attribute__((noinline)) int fib(int n)
{
	return n < 2 ? n : fib(n - 1) + fib(n - 2);
}

/* GNU ifunc: `fast` is an STT_GNU_IFUNC symbol whose value is the address
 * of the (static) resolver.  Probing "fast" probes the resolver, which
 * runs once at load time, not the implementation: gray (ifunc-resolver). */
int impl_a(int x)
{
	return x * 2 + 1;
}

static void *resolve_fast(void)
{
	return (void *)impl_a;
}

int fast(int) __attribute__((ifunc("resolve_fast")));
