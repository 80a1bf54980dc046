/* llsc_aarch64.S -- load-linked/store-conditional (exclusive monitor)
 * patterns for aarch64.  A kprobe single-steps the probed instruction out
 * of line and takes an exception to do so; the exception return clears
 * the local exclusive monitor, so a probe anywhere between ldxr and stxr
 * makes the stxr fail forever (reservation loss -> live-lock).
 * Assemble with -march=armv8-a (no LSE needed).
 */
#define FUNC(name)	.globl name; .type name, %function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name
#define HIDDEN(name)	.hidden name

	.text

/* Classic retry loop.  Window = ldxr, add, stxr.  The cbnz after the
 * stxr and what follows are outside the window. */
FUNC(llsc_loop)
1:	ldxr	x1, [x0]
	add	x1, x1, #1
	stxr	w2, x1, [x0]
	cbnz	w2, 1b
	mov	x0, x1
	ret
ENDF(llsc_loop)

/* Compare-and-swap whose compare-failure path abandons the exclusive
 * with clrex and returns 0.  Window = ldaxr, cmp, b.ne, stlxr; the
 * clrex path is not in the window. */
FUNC(llsc_clrex)
1:	ldaxr	x3, [x0]
	cmp	x3, x1
	b.ne	2f
	stlxr	w4, x2, [x0]
	cbnz	w4, 1b
	mov	w0, #1
	ret
2:	clrex
	mov	w0, #0
	ret
ENDF(llsc_clrex)

/* ldxr immediately abandoned by clrex, no store-conditional at all: no
 * window.  The kernel's linear backward scan still sees the ldxr within
 * 32 instructions and wrongly refuses the ordinary instructions after it. */
FUNC(llsc_abandoned)
	ldxr	x1, [x0]
	clrex
	add	x1, x1, #1
	eor	x1, x1, #0xff
	lsl	x1, x1, #2
	sub	x1, x1, #3
	orr	x1, x1, #0x10
	mov	x0, x1
	ret
ENDF(llsc_abandoned)

/* A 42-instruction window: ldxr, 40 adds, stxr.  The kernel's 32-
 * instruction backward scan from the tail adds does not reach the ldxr. */
FUNC(llsc_long)
1:	ldxr	x1, [x0]
	.rept	40
	add	x1, x1, #1
	.endr
	stxr	w2, x1, [x0]
	cbnz	w2, 1b
	mov	x0, x1
	ret
ENDF(llsc_long)

/* The window is laid out across branches so that the add and the stxr
 * come BEFORE the ldxr in address order.  Window = ldxr, b 1b, add, stxr.
 * The leading `b 2f` and the cbnz (which goes back to the ldxr) are not
 * in it.  Hidden: no .dynsym entry, so after stripping only .eh_frame
 * knows about it. */
HIDDEN(llsc_branch)
FUNC(llsc_branch)
	b	2f
1:	add	x1, x1, #1
	stxr	w2, x1, [x0]
	cbnz	w2, 2f
	ret
2:	ldxr	x1, [x0]
	b	1b
ENDF(llsc_branch)

/* Bounded retry: 3 attempts, then give up and return -1.  Window =
 * ldxr, add, stxr; the counter logic after the stxr is outside. */
FUNC(llsc_bounded)
	mov	w3, #3
1:	ldxr	x1, [x0]
	add	x1, x1, #1
	stxr	w2, x1, [x0]
	cbz	w2, 2f
	subs	w3, w3, #1
	b.ne	1b
	mov	x0, #-1
	ret
2:	mov	x0, x1
	ret
ENDF(llsc_bounded)

	.section .note.GNU-stack, "", %progbits
