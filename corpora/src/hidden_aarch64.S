/* hidden_aarch64.S -- an LL/SC window the static map cannot see: the
 * store-exclusive is reached only through an indirect branch, so no
 * control-flow path leads from the load-exclusive to it.  A probe on the
 * ldxr, the add, the br or the stxr still clears the exclusive monitor
 * (the exception return does), the stxr fails and the loop retries for
 * ever: `fuzz`, which traps every boundary, finds it ("discovered").
 * Everything before the ldxr and after the stxr is safe. */
#define FUNC(name)	.globl name; .type name, %function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

FUNC(hidden_llsc)
	adr	x3, 2f
1:	ldxr	x1, [x0]
	add	x1, x1, #1
	br	x3
2:	stxr	w2, x1, [x0]
	cbnz	w2, 1b
	mov	x0, x1
	ret
ENDF(hidden_llsc)

	.section .note.GNU-stack, "", %progbits
