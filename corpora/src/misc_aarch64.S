/* misc_aarch64.S -- instructions the arm64 kprobes decoder refuses to
 * single-step (aarch64_insn_is_steppable() == false). */
#define FUNC(name)	.globl name; .type name, %function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

/* brk, svc and msr daifset after a conditional branch; the branch and
 * the code around them are ordinary (safe). */
FUNC(unsteppable)
	cbz	x0, 1f
	brk	#0
	svc	#0
	msr	daifset, #2
1:	mov	x0, #0
	ret
ENDF(unsteppable)

	.section .note.GNU-stack, "", %progbits
