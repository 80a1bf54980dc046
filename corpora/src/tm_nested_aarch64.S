/* tm_nested_aarch64.S -- nested TME transactions and the status test
 * (txnest.so; assemble with +tme).  A tstart inside a transaction only
 * raises the depth (Xt = 0); tcommit commits at the outermost level.  A
 * failure at any depth restores the outermost checkpoint and resumes after
 * the OUTERMOST tstart with its Xt set to the cause.  The cbnz right after
 * a tstart executes inside the transaction just started: only its taken
 * (failure) edge leaves it. */
#define FUNC(name)	.globl name; .type name, %function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

/* outer { a++; inner { b++; } c++; } */
FUNC(tm_nested)
	tstart	x1
	cbnz	x1, 1f
	ldr	x2, [x0]
	add	x2, x2, #1
	str	x2, [x0]
	tstart	x3
	cbnz	x3, 1f
	ldr	x4, [x0, #8]
	add	x4, x4, #1
	str	x4, [x0, #8]
	tcommit
	ldr	x5, [x0, #16]
	add	x5, x5, #1
	str	x5, [x0, #16]
	tcommit
	mov	x0, #0
	ret
1:	mov	x0, #-1
	ret
ENDF(tm_nested)

/* The status test is the only instruction between tstart and tcommit:
 * the cbnz executes inside the transaction (a probe there aborts every
 * attempt); the fallback it branches to does not. */
FUNC(tm_status)
	tstart	x1
	cbnz	x1, 1f
	tcommit
	mov	x0, #0
	ret
1:	mov	x0, x1
	ret
ENDF(tm_status)

/* ttest inside a nest: returns the depth, 2. */
FUNC(tm_depth)
	tstart	x1
	cbnz	x1, 1f
	tstart	x2
	ttest	x0
	tcommit
	tcommit
	ret
1:	mov	x0, #-1
	ret
ENDF(tm_depth)

	.section .note.GNU-stack, "", %progbits
