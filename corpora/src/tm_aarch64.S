/* tm_aarch64.S -- Transactional Memory Extension (TME) patterns.  Any
 * exception inside a transaction (the probe's brk, the single-step)
 * aborts it; without a fallback the code retries forever.
 * Assemble with -march=armv8-a+tme.
 */
#define FUNC(name)	.globl name; .type name, %function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

/* tstart; on failure (x1 != 0) go to a non-transactional fallback.
 * Transactional region = tstart .. tcommit; the fallback is safe. */
FUNC(tm_fallback)
	tstart	x1
	cbnz	x1, 1f
	ldr	x2, [x0]
	add	x2, x2, #1
	str	x2, [x0]
	tcommit
	ret
1:	mov	x0, #-1
	ret
ENDF(tm_fallback)

/* No fallback: a failed tstart retries immediately, forever.  Hidden. */
	.hidden	tm_nofallback
FUNC(tm_nofallback)
1:	tstart	x1
	cbnz	x1, 1b
	ldr	x2, [x0]
	add	x2, x2, #1
	str	x2, [x0]
	tcommit
	ret
ENDF(tm_nofallback)

/* ttest outside a transaction (safe), then a transaction that ends
 * either with tcommit or with an explicit tcancel #1; ttest inside. */
FUNC(tm_cancel)
	ttest	x3
	tstart	x1
	cbnz	x1, 2f
	ttest	x2
	ldr	x3, [x0]
	cbz	x3, 1f
	tcommit
	ret
1:	tcancel	#1
2:	mov	x0, #-1
	ret
ENDF(tm_cancel)

	.section .note.GNU-stack, "", %progbits
