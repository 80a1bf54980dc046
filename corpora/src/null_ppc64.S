/* null_ppc64.S -- vmlinux-null (ppc64, ppc64le): a kernel image linked at
 * 0xc000000000000000 whose first instruction is the kernel's endian fixup
 * (`tdi 0,0,0x48`, as head_64.S's __start at _stext), and functions whose
 * LL/SC window exits through a function pointer that nobody set (a null
 * pointer in .bss).  In POWER real mode the emulator
 * runs 0xc000... addresses at their low alias, so a branch to address 0
 * lands on _stext's code: the trial must end as a fault at 0 (a null
 * pointer, named with its branch), not run or blame the kernel's first
 * instruction.  No TOC: the pointer's address is built whole.
 */
#include "ppc64_asm.h"

	.section ".head.text", "ax"
	.globl	_stext_head
_stext_head:
	tdi	0, 0, 0x48	/* FIXUP_ENDIAN: a no-op on the right byte order */
	b	1f
	.long	0
1:	trap

	.text
/* The address of null_hook, built whole (no TOC) in r9. */
#define HOOK_ADDR					\
	lis	%r9, null_hook@highest;			\
	ori	%r9, %r9, null_hook@higher;		\
	rldicr	%r9, %r9, 32, 31;			\
	oris	%r9, %r9, null_hook@high;		\
	ori	%r9, %r9, null_hook@l

/* Window = ldarx .. stdcx. on *r3, with an exit before the stdcx. that
 * every run takes (the loaded value never equals itself plus one, which
 * the static map cannot know): the exit jumps (`bctr`) to null_hook's
 * value, a null pointer.  A trap in the window is reached, and no
 * store-conditional follows it. */
FUNC(null_tail)
1:	ldarx	%r4, 0, %r3
	addi	%r5, %r4, 1
	cmpd	%r4, %r5
	bne-	2f
	stdcx.	%r5, 0, %r3
	bne-	1b
	blr
2:	HOOK_ADDR
	ld	%r12, 0(%r9)
	mtctr	%r12
	bctr
ENDF(null_tail)

/* The same window and exit, leaving through `blr` with the link register
 * loaded from null_hook: a return to address 0, as a trial that starts
 * past a prologue restores one from a frame slot nobody wrote. */
FUNC(null_return)
1:	ldarx	%r4, 0, %r3
	addi	%r5, %r4, 1
	cmpd	%r4, %r5
	bne-	2f
	stdcx.	%r5, 0, %r3
	bne-	1b
	blr
2:	HOOK_ADDR
	ld	%r0, 0(%r9)
	mtlr	%r0
	blr
ENDF(null_return)

	.bss
	.p2align 3
	.globl	null_hook
null_hook:
	.space	8
