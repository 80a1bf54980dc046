/* llsc-loop: a user program for harness/qemu-kprobes.sh. `llsc_inc`
 * increments a counter with an LDXR/STXR (arm64, no LSE atomics) or
 * LDARX/STDCX. (POWER) retry loop, so a uprobe inside its window
 * (llsc_inc+0x4, the add) traps between the load-exclusive and the
 * store-exclusive on every attempt, and one after the window (llsc_inc+0x10,
 * the return) does not. Built with `aarch64-linux-gnu-gcc -static -O2` or
 * `powerpc64le-linux-gnu-gcc -static -O2`; prints the count and exits 0 when
 * every increment landed.
 *   llsc-loop [N]   (default 100000 increments)
 */
#include <stdio.h>
#include <stdlib.h>

void llsc_inc(long *p);

#if defined(__aarch64__)
__asm__(".text\n"
	".global llsc_inc\n"
	".type llsc_inc, %function\n"
	".p2align 4\n"
	"llsc_inc:\n"
	"1:	ldxr	x1, [x0]\n"      /* +0x0  load-exclusive (opens the window) */
	"	add	x1, x1, #1\n"    /* +0x4  inside the window */
	"	stxr	w2, x1, [x0]\n"  /* +0x8  store-exclusive (closes it) */
	"	cbnz	w2, 1b\n"        /* +0xc  retry while the store failed */
	"	ret\n"                   /* +0x10 after the window */
	".size llsc_inc, .-llsc_inc\n");
#elif defined(__powerpc64__)
/* The same with a reservation: ldarx/stdcx. (ELFv2, no TOC needed, so the
 * global entry is the only entry). */
__asm__(".text\n"
	".global llsc_inc\n"
	".type llsc_inc, @function\n"
	".p2align 4\n"
	"llsc_inc:\n"
	"1:	ldarx	4, 0, 3\n"       /* +0x0  load-reserve (opens the window) */
	"	addi	4, 4, 1\n"       /* +0x4  inside the window */
	"	stdcx.	4, 0, 3\n"       /* +0x8  store-conditional (closes it) */
	"	bne-	1b\n"            /* +0xc  retry while the store failed */
	"	blr\n"                   /* +0x10 after the window */
	".size llsc_inc, .-llsc_inc\n");
#else
#error "llsc-loop: aarch64 or powerpc64 only"
#endif

static long counter;

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 100000;
	for (long i = 0; i < n; i++)
		llsc_inc(&counter);
	printf("llsc-loop: %ld of %ld\n", counter, n);
	return counter == n ? 0 : 1;
}
