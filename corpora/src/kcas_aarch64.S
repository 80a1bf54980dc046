/* kcas_aarch64.S -- the shapes of Debian's arm64 kernel (6.1, LL/SC
 * atomics: alternatives as the file has them) that a trial started at the
 * window's load-linked must set up to reach the store-exclusive.  Linked
 * into aarch64/kcas at the kernel's base address (src/vmlinux.lds).
 *
 * In every function the window is reached only through an object the
 * entry's generated arguments do not provide (a magic word behind a
 * pointer read from memory), so trials start at the load-linked.
 */
#define FUNC(name)	.globl name; .type name, %function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

	.globl	_start
_start:
	b	.

/* spin_lock as gcc inlines it (__ll_sc__cmpxchg_case_acq_32): the lock
 * word at x20 + 0x960, x20 read from memory and used only through `add`;
 * the compare is `eor w4, w0, w1; cbnz w4` (not `cmp`); the unlock is a
 * `stlrb` to the lock address recomputed from x20; the frame is popped
 * with `ldp x29, x30` and `ret`.  Window = ldaxr, eor, cbnz, stxr. */
FUNC(kcas_spin_lock)
	paciasp
	stp	x29, x30, [sp, #-48]!
	mov	x29, sp
	stp	x19, x20, [sp, #16]
	ldr	x20, [x0, #0x40]
	mov	x19, x0
	ldr	w1, [x0, #0x48]
	movz	w2, #0x5a17
	movk	w2, #0x4b1d, lsl #16
	cmp	w1, w2
	b.ne	3f
	add	x5, x20, #0x960
	mov	x1, #0
	mov	w2, #1
	prfm	pstl1strm, [x5]
1:	ldaxr	w0, [x5]
	eor	w4, w0, w1
	cbnz	w4, 2f
	stxr	w4, w2, [x5]
	cbnz	w4, 1b
2:	ldr	x0, [x19, #0x18]
	add	x0, x0, #1
	str	x0, [x19, #0x18]
	add	x1, x20, #0x960
	stlrb	wzr, [x1]
3:	ldp	x19, x20, [sp, #16]
	ldp	x29, x30, [sp], #48
	autiasp
	ret
ENDF(kcas_spin_lock)

/* cmpxchg with a constant expected value (`eor w4, w0, #0x3`): an
 * atomic_cmpxchg(&v, 3, 7) on a word of an object read from memory. */
FUNC(kcas_const)
	stp	x29, x30, [sp, #-32]!
	mov	x29, sp
	str	x19, [sp, #16]
	ldr	x19, [x0, #0x28]
	ldr	w1, [x19]
	movz	w2, #0x7e57
	movk	w2, #0x1dea, lsl #16
	cmp	w1, w2
	b.ne	3f
	add	x3, x19, #0x10
	mov	w2, #7
1:	ldxr	w0, [x3]
	eor	w4, w0, #0x3
	cbnz	w4, 2f
	stlxr	w4, w2, [x3]
	cbnz	w4, 1b
2:	mov	w0, w4
3:	ldr	x19, [sp, #16]
	ldp	x29, x30, [sp], #32
	ret
ENDF(kcas_const)

/* One attempt, no retry (a try-cmpxchg whose caller retries): after a
 * trap the store-exclusive fails and the function returns through the
 * frame its prologue built (paciasp; stp x29, x30, [sp, #-32]!).  A trial
 * started at the load-linked has that frame, with the return address in
 * x30's slot, as the entry would have left it.  Window = ldaxr .. stxr. */
FUNC(kcas_once)
	paciasp
	stp	x29, x30, [sp, #-32]!
	mov	x29, sp
	str	x19, [sp, #16]
	ldr	x19, [x0, #0x30]
	ldr	w1, [x0, #0x38]
	movz	w2, #0x0b5e
	movk	w2, #0x55ed, lsl #16
	cmp	w1, w2
	b.ne	2f
	ldr	w1, [x0, #0x3c]
	mov	w2, #1
	ldaxr	w0, [x19]
	eor	w4, w0, w1
	cbnz	w4, 1f
	stxr	w4, w2, [x19]
1:	mov	w0, w4
2:	ldr	x19, [sp, #16]
	ldp	x29, x30, [sp], #32
	autiasp
	ret
ENDF(kcas_once)

/* cmpxchg_double as SLUB does it (__ll_sc__cmpxchg_double): a pair load,
 * each half compared with its own register, `orr` of the differences,
 * `cbnz`.  Window = ldxp .. stlxp. */
FUNC(kcas_pair)
	stp	x29, x30, [sp, #-48]!
	mov	x29, sp
	stp	x19, x20, [sp, #16]
	stp	x21, x22, [sp, #32]
	ldr	x22, [x0, #0x20]
	ldr	x1, [x22]
	movz	x2, #0xfeed
	cmp	x1, x2
	b.ne	2f
	ldp	x21, x27, [x22, #8]
	ldp	x8, x3, [x22, #24]
	add	x2, x22, #0x40
1:	ldxp	x1, x0, [x2]
	eor	x1, x1, x27
	eor	x0, x0, x21
	orr	x0, x1, x0
	cbnz	x0, 2f
	stlxp	w1, x8, x3, [x2]
	cbnz	w1, 1b
	ldr	x0, [x21, #8]		/* the old first half is an object */
2:	ldp	x21, x22, [sp, #32]
	ldp	x19, x20, [sp, #16]
	ldp	x29, x30, [sp], #48
	ret
ENDF(kcas_pair)

/* A compare with a constant no generated word holds (`eor w4, w0,
 * #0x55555555`): the trial that starts at the load-linked writes it to the
 * word the address register points at, as the code that set the object up
 * would have left it.  Window = ldxr .. stlxr. */
FUNC(kcas_magic)
	ldr	x3, [x0, #0x18]
	ldr	w1, [x0, #0x10]
	movz	w2, #0xc0de
	movk	w2, #0x0dd5, lsl #16
	cmp	w1, w2
	b.ne	2f
	mov	w2, #9
1:	ldxr	w0, [x3]
	eor	w4, w0, #0x55555555
	cbnz	w4, 2f
	stlxr	w4, w2, [x3]
	cbnz	w4, 1b
2:	ret
ENDF(kcas_magic)
