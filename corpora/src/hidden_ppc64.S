/* hidden_ppc64.S -- a larx/stcx. window the static map cannot see: the
 * stdcx. is reached only through bctr (an indirect branch, to an address
 * computed from the entry point or the TOC pointer), so no
 * control-flow path leads from the ldarx to it.  A probe on the ldarx, the
 * addi, the bctr or the stdcx. still loses the reservation (the interrupt
 * return clears it), the stdcx. fails and the loop retries for ever:
 * `fuzz`, which traps every boundary, finds it ("discovered").  The code
 * before the ldarx and after the stdcx. is safe. */
#include "ppc64_asm.h"

	.text

FUNC(hidden_llsc)
#if defined(_CALL_ELF) && _CALL_ELF == 2
	/* ELFv2: r12 holds the global entry point's address. */
	addis	%r5, %r12, (2f - hidden_llsc)@ha
	addi	%r5, %r5, (2f - hidden_llsc)@l
#else
	/* ELFv1: r2 holds the TOC pointer from the descriptor. */
	addis	%r5, %r2, 2f@toc@ha
	addi	%r5, %r5, 2f@toc@l
#endif
	mtctr	%r5
1:	ldarx	%r4, 0, %r3
	addi	%r4, %r4, 1
	bctr
2:	stdcx.	%r4, 0, %r3
	bne-	1b
	mr	%r3, %r4
	blr
ENDF(hidden_llsc)

	.section .note.GNU-stack, "", @progbits
