/* tm_ppc64.S -- POWER8 Hardware Transactional Memory patterns (assemble
 * with -mhtm / -mcpu=power8).  An interrupt in transactional state
 * (the kprobe trap, the single-step) aborts the transaction to the
 * failure handler after tbegin. (CR0[EQ] set). */
#include "ppc64_asm.h"

	.text

/* tbegin.; beq- to a real fallback.  Region = tbegin. .. tend. */
FUNC(tm_fallback)
	tbegin.
	beq-	1f
	ld	%r4, 0(%r3)
	addi	%r4, %r4, 1
	std	%r4, 0(%r3)
	tend.
	blr
1:	li	%r3, -1
	blr
ENDF(tm_fallback)

/* No fallback: failure goes straight back to tbegin., forever.  Hidden. */
HIDDEN(tm_nofallback)
FUNC(tm_nofallback)
1:	tbegin.
	beq-	1b
	ld	%r4, 0(%r3)
	addi	%r4, %r4, 1
	std	%r4, 0(%r3)
	tend.
	blr
ENDF(tm_nofallback)

/* An explicit tabort. r3 on one path; the region ends at tabort. or at
 * tend. */
FUNC(tm_abort)
	tbegin.
	beq-	2f
	ld	%r4, 0(%r3)
	cmpdi	%r4, 0
	bne+	1f
	tabort.	%r3
1:	addi	%r4, %r4, 1
	std	%r4, 0(%r3)
	tend.
	li	%r3, 0
	blr
2:	li	%r3, -1
	blr
ENDF(tm_abort)

/* tsuspend./tresume. inside a transaction: the suspended part is still
 * between tbegin. and tend. on every path. */
FUNC(tm_suspend)
	tbegin.
	beq-	1f
	tsuspend.
	ld	%r4, 0(%r3)
	tresume.
	addi	%r4, %r4, 1
	std	%r4, 8(%r3)
	tend.
	blr
1:	li	%r3, -1
	blr
ENDF(tm_suspend)

	.section .note.GNU-stack, "", @progbits
