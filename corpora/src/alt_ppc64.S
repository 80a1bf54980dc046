/* alt_ppc64.S -- code after a function's ELF size in a kernel image: a
 * replacement sequence and an out-of-line larx/stcx. loop in
 * `.subsection 1` of the section, which the assembler places after
 * everything else of the section in this object, so after the last
 * function (as arm64 kernels place their ALTERNATIVE() replacements and
 * LL/SC fallbacks, see alt_aarch64.S).  kallsyms gives alt_user every byte
 * up to after_alt, so the kernel accepts a probe past its ELF size.
 * Linked into vmlinux-alt through vmlinux.lds. */
#include "ppc64_asm.h"

	.text

FUNC(_start)
	mflr	%r0
	std	%r0, 16(%r1)
	stdu	%r1, -112(%r1)
	bl	alt_user
	nop
1:	b	1b
ENDF(_start)

/* r3: a pointer to a counter; returns it incremented. */
FUNC(alt_user)
	mr	%r4, %r3
661:	nop			/* the patch site: boot copies 662 here */
	b	663f		/* the out-of-line larx/stcx. loop */
664:	blr
ENDF(alt_user)

	.subsection 1
662:	addi	%r3, %r3, 1	/* replacement of the nop at 661 (+0x10) */
663:	ldarx	%r5, 0, %r4	/* +0x14: the loop alt_user runs */
	addi	%r5, %r5, 1	/* +0x18 */
	stdcx.	%r5, 0, %r4	/* +0x1c */
	bne-	663b		/* +0x20 */
	mr	%r3, %r5	/* +0x24 */
	b	664b		/* +0x28: back into alt_user */
	.previous

	.section .text.after, "ax", @progbits
FUNC(after_alt)			/* the next symbol: where kallsyms stops */
	li	%r3, 0
	blr
ENDF(after_alt)

	.section .note.GNU-stack, "", @progbits
