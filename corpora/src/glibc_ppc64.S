/* glibc_ppc64.S -- the shapes of Debian's ppc64el libc.so.6 (glibc 2.36)
 * that probesafe once judged wrongly: compare-and-swap windows whose
 * compare the generated inputs never satisfy, code that uses the TOC, the
 * floating-point and vector registers, and system calls, the traceback
 * tables gcc puts after a function's last instruction, and POWER10
 * instructions (assembled with -mcpu=power10), and a switch's jump table.  Built for ppc64 ELFv1 and
 * ppc64le ELFv2, each also stripped (glibc-stripped.so: no .symtab, so no
 * .TOC. symbol; functions come from .dynsym and .eh_frame).
 */
#include "ppc64_asm.h"

/* gcc's traceback table (the "partial" one, -mtraceback=part): a zero
 * word, then version 0, language 0 (C), flags (saves LR; stores the back
 * chain), no parameters.  Data inside the function's .size and FDE. */
#define TRACEBACK				\
	.long	0;				\
	.byte	0, 0, 0, 1, 128, 0, 0, 0

/* A direct call to a function of this file (ELFv1: to its code). */
#if defined(_CALL_ELF) && _CALL_ELF == 2
#define CALL(name)	bl name
#else
#define CALL(name)	bl .L.name
#endif

	.text

/* cas_expected(p): glibc's lll_lock shape (lwarx with the EH hint, subf.,
 * bne, stwcx.), with an expected value that is never the word at p: from
 * the entry the compare always fails and no store-conditional runs.
 * Trials start at the lwarx, with r9 holding the word at r3. */
FUNC(cas_expected)
	lwz	%r9, 0(%r3)
	addi	%r9, %r9, 1
	li	%r10, 1
	clrldi	%r9, %r9, 32
1:	lwarx	%r8, 0, %r3, 1
	subf.	%r8, %r9, %r8
	bne	2f
	stwcx.	%r10, 0, %r3
	bne-	1b
2:	isync
	mr	%r3, %r8
	blr
ENDF(cas_expected)

/* spin_trylock(p): pthread_spin_trylock's shape (cmpwi against 0), after a
 * store of 1 to the lock word: from the entry the word is never 0.
 * Trials start at the lwarx, at an address whose word is 0. */
FUNC(spin_trylock)
	li	%r9, 1
	stw	%r9, 0(%r3)
	li	%r10, 1
1:	lwarx	%r8, 0, %r3, 1
	cmpwi	%r8, 0
	bne	2f
	stwcx.	%r10, 0, %r3
	bne-	1b
2:	isync
	mr	%r3, %r8
	blr
ENDF(spin_trylock)

/* toc_counter(): an atomic increment of a variable addressed through the
 * TOC (r2), in a function without a global entry point (gcc emits none
 * for a function only called locally, whose callers share the TOC): r2
 * must hold the TOC pointer at the entry, also in the stripped binary. */
FUNC(toc_counter)
	addis	%r9, %r2, counter@toc@ha
	addi	%r9, %r9, counter@toc@l
1:	lwarx	%r3, 0, %r9
	addi	%r3, %r3, 1
	stwcx.	%r3, 0, %r9
	bne-	1b
	blr
ENDF(toc_counter)

/* fp_counter(p, x): floating-point and VSX instructions before an atomic
 * increment (glibc's printf and wide-character functions save f31 with
 * mtfprwz and copy with lxvdsx/stxvd2x): the run reaches the window only
 * when the FP, VMX and VSX facilities are available, as the kernel makes
 * them for a program. */
FUNC(fp_counter)
	mtfprwz	%f31, %r4
	stfd	%f31, -8(%r1)
	lxvdsx	%vs0, 0, %r3
	vspltisw %v0, 0
	stxvd2x	%vs0, 0, %r3
1:	lwarx	%r9, 0, %r3
	addi	%r9, %r9, 1
	stwcx.	%r9, 0, %r3
	bne-	1b
	mr	%r3, %r9
	blr
ENDF(fp_counter)

/* futex_then_counter(p): a system call (futex wake, as __lll_lock_wake
 * makes) before an atomic increment: the kernel returns after the sc. */
FUNC(futex_then_counter)
	std	%r3, -8(%r1)
	li	%r0, 221
	li	%r4, 1
	li	%r5, 1
	sc
	bns+	2f
	li	%r3, -1
	blr
2:	ld	%r3, -8(%r1)
1:	lwarx	%r9, 0, %r3
	addi	%r9, %r9, 1
	stwcx.	%r9, 0, %r3
	bne-	1b
	mr	%r3, %r9
	blr
ENDF(futex_then_counter)

/* sc_in_window(p): a system call between lwarx and stwcx. (no real code
 * does this): the kernel's interrupt exit clears the reservation, so the
 * stwcx. fails even with no probe, and the function returns -1. */
FUNC(sc_in_window)
	lwarx	%r9, 0, %r3
	li	%r0, 20
	sc
	stwcx.	%r9, 0, %r3
	beq	1f
	li	%r3, -1
	blr
1:	li	%r3, 0
	blr
ENDF(sc_in_window)

/* die(): a call to a function that does not return, then the traceback
 * table (gcc: `bl abort; nop; .long 0; ...`): the last instruction is a
 * nop, which falls through into the table. */
FUNC(die)
	mflr	%r0
	std	%r0, 16(%r1)
	stdu	%r1, -32(%r1)
	CALL(never_returns)
	nop
	TRACEBACK
ENDF(die)

/* loop_tail(n): a function ending in a return, then its traceback table
 * with parameter information (one fixed-point parameter). */
FUNC(loop_tail)
	mtctr	%r3
	li	%r3, 0
1:	addi	%r3, %r3, 2
	bdnz	1b
	blr
	.long	0
	.byte	0, 0, 0, 0, 0, 0, 1, 0
	.long	0x80000000
ENDF(loop_tail)

/* never_returns(): traps (glibc's abort ends in `.long 0`, an illegal
 * instruction, which is code). */
HIDDEN(never_returns)
FUNC(never_returns)
	.long	0
	b	never_returns
ENDF(never_returns)

/* switch4(n): gcc's inline switch table (lwax, add, mtctr, bctr, then one
 * word per case: the case's offset from the table). Case 0 lies before the
 * table, so its word is negative (0xffffffd0: opcode 63, the
 * floating-point opcode). The table is data. */
FUNC(switch4)
	cmplwi	%r3, 3
	bgt	9f
	b	2f
1:	li	%r3, 10
	blr
2:	mflr	%r0
	bcl	20, 31, 3f
3:	mflr	%r10
	mtlr	%r0
	addi	%r10, %r10, .Ltable - 3b
	rldic	%r3, %r3, 2, 30
	lwax	%r9, %r10, %r3
	add	%r9, %r9, %r10
	mtctr	%r9
	bctr
.Ltable:
	.long	1b - .Ltable
	.long	4f - .Ltable
	.long	5f - .Ltable
	.long	9f - .Ltable
4:	li	%r3, 11
	blr
5:	li	%r3, 12
	blr
9:	li	%r3, -1
	blr
ENDF(switch4)

/* p10(p): POWER10 instructions of glibc's POWER10 string functions:
 * lxvp, vextractbm, a prefixed load (pld, 8 bytes), pnop, and the
 * quad-precision conversions of libgcc's __float128 code. */
FUNC(p10)
	lxvp	%vs32, 0(%r3)
	vextractbm %r7, %v1
	pld	%r4, 8(%r3)
	xscvsqqp %v2, %v2
	pnop
	mr	%r3, %r4
	blr
ENDF(p10)

/* call_stub(): the shape of the linker's call stubs at the start of
 * libc's .text (save r2, load the target, bctr), padded with zero words to
 * 32 bytes: the zeros are never reached, data. */
FUNC(call_stub)
	std	%r2, 24(%r1)
	ld	%r12, -8(%r1)
	mtctr	%r12
	bctr
	.long	0
	.long	0
ENDF(call_stub)

	.data
	.p2align 2
counter:
	.long	0

	.section .note.GNU-stack, "", @progbits
