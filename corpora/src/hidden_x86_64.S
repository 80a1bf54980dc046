/* hidden_x86_64.S -- an RTM transaction the static map cannot see whole:
 * the xend is reached only through an indirect jump, so no control-flow
 * path leads from the xbegin to a transaction end and the static map
 * marks no window.  A probe on the store or the jmp inside the
 * transaction still aborts it (the int3 does), and the fallback runs:
 * `fuzz`, which traps every boundary, finds it ("discovered").  The code
 * after the xend and the fallback are safe. */
#define FUNC(name)	.globl name; .type name, @function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

FUNC(hidden_tm)
	leaq	2f(%rip), %rax
	xbegin	3f
	incl	(%rdi)
	jmp	*%rax
2:	xend
	movl	$1, %eax
	ret
3:	lock incl (%rdi)
	xorl	%eax, %eax
	ret
ENDF(hidden_tm)

	.section .note.GNU-stack, "", @progbits
