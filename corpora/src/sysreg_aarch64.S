/* sysreg_aarch64.S -- kernel code that reads system registers (the
 * virtual counter, the CPU's identification, its affinity) between an
 * exclusive load and its store-exclusive.  The reads must execute (with
 * the values Unicorn's CPU model gives) without ending the trial.
 */
#define FUNC(name)	.globl name; .type name, %function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

/* Window = ldxr, mrs x3..x5, add, add, stxr. */
FUNC(sysreg_window)
1:	ldxr	x1, [x0]
	mrs	x3, cntvct_el0
	mrs	x4, midr_el1
	mrs	x5, mpidr_el1
	add	x1, x1, x3
	add	x1, x1, x4
	stxr	w2, x1, [x0]
	cbnz	w2, 1b
	mov	x0, x1
	ret
ENDF(sysreg_window)
