/* alt_x86_64.S -- code after a function's ELF size in a kernel image:
 * a replacement sequence in `.subsection 1` of the section, which the
 * assembler places after everything else of the section in this object,
 * so after the last function.  (x86 kernels keep their ALTERNATIVE()
 * replacements in .altinstr_replacement; arm64 keeps them here, see
 * alt_aarch64.S.)  kallsyms gives alt_user every byte up to after_alt, so
 * the kernel accepts a probe on alt_user+0xa.. although its ELF size is
 * 0xa.  Linked into vmlinux-alt through vmlinux.lds. */
#define FUNC(name)	.globl name; .type name, @function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

FUNC(_start)
	lea	counter(%rip), %rdi
	call	alt_user
1:	jmp	1b
ENDF(_start)

/* %rdi: a pointer to a counter; returns it incremented. */
FUNC(alt_user)
	mov	%rdi, %rsi
661:	.byte	0x0f, 0x1f, 0x44, 0x00, 0x00	/* 5-byte nop: the patch site */
	jmp	663f				/* out-of-line code */
664:	ret
ENDF(alt_user)

	.subsection 1
662:	lock incq (%rsi)		/* replacement of the nop at 661 */
663:	mov	(%rsi), %rax		/* the out-of-line code alt_user runs */
	add	$1, %rax
	mov	%rax, (%rsi)
	jmp	664b			/* back into alt_user */
	.previous

	.section .text.after, "ax", @progbits
FUNC(after_alt)				/* the next symbol: where kallsyms stops */
	xor	%eax, %eax
	ret
ENDF(after_alt)

	.data
	.p2align 3
counter:
	.quad	0

	.section .note.GNU-stack, "", @progbits
