/* tm_nested_ppc64.S -- nested POWER HTM transactions, tendall and the
 * status test (txnest.so; assemble with -mhtm).  A tbegin. inside a
 * transaction only raises the nesting depth; tend. ends one level and
 * commits at the outermost, tend. 1 (tendall.) ends them all.  A failure
 * at any depth resumes at the OUTERMOST tbegin.+4 with CR0 = 0b1010, so
 * its beq- to the failure handler is taken.  That beq- executes inside the
 * transaction just started: only its taken edge leaves it. */
#include "ppc64_asm.h"

	.text

/* outer { a++; inner { b++; } c++; } */
FUNC(tm_nested)
	tbegin.
	beq-	1f
	ld	%r4, 0(%r3)
	addi	%r4, %r4, 1
	std	%r4, 0(%r3)
	tbegin.
	beq-	1f
	ld	%r5, 8(%r3)
	addi	%r5, %r5, 1
	std	%r5, 8(%r3)
	tend.
	ld	%r6, 16(%r3)
	addi	%r6, %r6, 1
	std	%r6, 16(%r3)
	tend.
	li	%r3, 0
	blr
1:	li	%r3, -1
	blr
ENDF(tm_nested)

/* outer { inner { a++; } } ended by one tend. 1: nothing after it is
 * transactional. */
FUNC(tm_tendall)
	tbegin.
	beq-	1f
	tbegin.
	beq-	1f
	ld	%r4, 0(%r3)
	addi	%r4, %r4, 1
	std	%r4, 0(%r3)
	tend.	1
	li	%r3, 0
	blr
1:	li	%r3, -1
	blr
ENDF(tm_tendall)

/* The status test is the only instruction between tbegin. and tend. */
FUNC(tm_status)
	tbegin.
	beq-	1f
	tend.
	li	%r3, 0
	blr
1:	li	%r3, -1
	blr
ENDF(tm_status)

/* What the HTM instructions leave in CR0: 0 || MSR[TS] || 0, TS as it was
 * before the instruction (GCC's htmintrin.h _HTM_STATE reads it so).  A
 * nested tbegin. and the tend. 1 that ends the nest both run in the
 * transactional state (TS = 0b10): CR0 = 0b0100 each.  Returns the CR0
 * after the nested tbegin. in bits 7:4 and after tend. 1 in bits 3:0. */
FUNC(tm_cr0)
	tbegin.
	beq-	1f
	tbegin.
	mfcr	%r4
	tend.	1
	mfcr	%r5
	rlwinm	%r4, %r4, 8, 24, 27
	rlwinm	%r5, %r5, 4, 28, 31
	or	%r3, %r4, %r5
	blr
1:	li	%r3, -1
	blr
ENDF(tm_cr0)

	.section .note.GNU-stack, "", @progbits
