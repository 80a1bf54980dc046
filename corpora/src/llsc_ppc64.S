/* llsc_ppc64.S -- larx/stcx. (reservation) patterns for 64-bit PowerPC,
 * assembled for both ppc64 big-endian ELFv1 (symbols are .opd function
 * descriptors, code at .L.name) and ppc64le ELFv2 (symbol = code).
 * A kprobe takes a program interrupt and single-steps with MSR[SE]; any
 * interrupt may clear the reservation, so a probe between lXarx and
 * stXcx. makes the stXcx. fail on every retry.
 */
#include "ppc64_asm.h"

	.text

/* Classic retry loop.  Window = ldarx, addi, stdcx.  The bne- after the
 * stdcx. and what follows are outside. */
FUNC(llsc_loop)
1:	ldarx	%r4, 0, %r3
	addi	%r4, %r4, 1
	stdcx.	%r4, 0, %r3
	bne-	1b
	mr	%r3, %r4
	blr
ENDF(llsc_loop)

/* A 42-instruction window: ldarx, 40 addi, stdcx. */
FUNC(llsc_long)
1:	ldarx	%r4, 0, %r3
	.rept	40
	addi	%r4, %r4, 1
	.endr
	stdcx.	%r4, 0, %r3
	bne-	1b
	mr	%r3, %r4
	blr
ENDF(llsc_long)

/* Window laid out across branches: the addi and stdcx. come BEFORE the
 * ldarx in address order.  Window = ldarx, b 1b, addi, stdcx.  Hidden. */
HIDDEN(llsc_branch)
FUNC(llsc_branch)
	b	2f
1:	addi	%r4, %r4, 1
	stdcx.	%r4, 0, %r3
	bne-	2f
	blr
2:	ldarx	%r4, 0, %r3
	b	1b
ENDF(llsc_branch)

/* Bounded retry: 3 attempts then return -1.  Window = ldarx, addi,
 * stdcx.; the counter logic is outside. */
FUNC(llsc_bounded)
	li	%r5, 3
1:	ldarx	%r4, 0, %r3
	addi	%r4, %r4, 1
	stdcx.	%r4, 0, %r3
	beq+	2f
	addic.	%r5, %r5, -1
	bne+	1b
	li	%r3, -1
	blr
2:	mr	%r3, %r4
	blr
ENDF(llsc_bounded)

/* Byte-sized reservation (ISA 2.06, POWER7+): lbarx/stbcx. */
FUNC(llsc_byte)
1:	lbarx	%r4, 0, %r3
	addi	%r4, %r4, 1
	stbcx.	%r4, 0, %r3
	bne-	1b
	mr	%r3, %r4
	blr
ENDF(llsc_byte)

/* Halfword reservation: lharx/sthcx. */
FUNC(llsc_half)
1:	lharx	%r4, 0, %r3
	xori	%r4, %r4, 0x8001
	sthcx.	%r4, 0, %r3
	bne-	1b
	mr	%r3, %r4
	blr
ENDF(llsc_half)

	.section .note.GNU-stack, "", @progbits
