/* misc_x86_64.S -- instructions x86 kprobes refuse (can_probe /
 * insn_is_... checks: int3, int n, ud2, mov to %ss), and an instruction-
 * boundary test. */
#define FUNC(name)	.globl name; .type name, @function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

/* ud2, int3 and int $0x80 after a conditional branch; the test/je and
 * the tail are ordinary. */
FUNC(unsteppable)
	testl	%edi, %edi
	je	1f
	ud2
	int3
	int	$0x80
1:	xorl	%eax, %eax
	ret
ENDF(unsteppable)

/* mov to %ss inhibits interrupts/traps for one instruction: the single
 * step would be lost.  Reading %ss is fine.  Hidden. */
	.hidden	unsteppable_ss
FUNC(unsteppable_ss)
	movl	%ss, %eax
	movl	%eax, %ss
	ret
ENDF(unsteppable_ss)

/* Starts with a 10-byte movabs: boundary+1 .. boundary+9 are not
 * instruction boundaries. */
FUNC(boundary)
	movabsq	$0x1122334455667788, %rax
	addq	%rdi, %rax
	ret
ENDF(boundary)

	.section .note.GNU-stack, "", @progbits
