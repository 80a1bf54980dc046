/* handlers.c -- kprobe pre-handlers, one of which recurses into the probed
 * function.  Built into handlers.so on every target.
 *
 * A kprobe on `helper` whose pre-handler itself (directly or through a
 * callee) calls `helper` fires again inside its own handler: the kernel
 * counts it as a missed probe (kprobe re-entry) at best, and a handler that
 * does not expect it recurses.  A handler that calls nothing is safe.
 *
 *   helper             the function that gets probed: arithmetic, no calls
 *   probed_caller      calls helper (helper is reached from another region)
 *   handler_recursive  calls helper(3) directly        -> recursion
 *   handler_plain      touches only its arguments      -> safe
 *   handler_indirect   calls log_hit() -> helper(5)     -> recursion, 2 deep
 *
 * helper and log_hit are noinline; helper is hidden so that every call to
 * it is a direct call/bl to its own address (no PLT stub, and on ppc no
 * TOC save/restore: ELFv1 `bl .L.helper`, ELFv2 `bl helper` with no
 * global entry because helper does not use the TOC).  The handlers'
 * signatures are the kernel's pre_handler(struct kprobe *, struct pt_regs *)
 * with opaque pointers.
 */

__attribute__((noinline, visibility("hidden"))) int helper(int x)
{
	x ^= x >> 3;
	x *= 0x1b873593;
	return x + 0x2b;
}

__attribute__((noinline)) int probed_caller(int x)
{
	return helper(x) + 1;
}

/* Keeps a value alive without storing it anywhere: no global data, so
 * handlers.so has no GOT entry or dynamic relocation that an emulator
 * would have to resolve before running a handler. */
#define USE(v)	__asm__ volatile("" : : "r"(v))

__attribute__((noinline)) int handler_recursive(void *kp, void *regs)
{
	(void)kp;
	(void)regs;
	USE(helper(3));
	return 0;
}

__attribute__((noinline)) int handler_plain(void *kp, void *regs)
{
	long v = (long)kp;

	if (regs)
		v += ((const long *)regs)[2];
	USE(v * 5 + 7);
	return 0;
}

static __attribute__((noinline)) void log_hit(void)
{
	USE(helper(5));
}

__attribute__((noinline)) int handler_indirect(void *kp, void *regs)
{
	(void)kp;
	(void)regs;
	log_hit();
	return 0;
}
