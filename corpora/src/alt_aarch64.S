/* alt_aarch64.S -- code after a function's ELF size, as arm64 kernels
 * have it: the ALTERNATIVE() replacement sequences and the out-of-line
 * LL/SC fallbacks go to `.subsection 1` of the section, which the
 * assembler places after everything else of the section in this object,
 * so after the last function (`__kvm_nvhe_hyp_create_idmap+0xe0` in
 * Debian's 6.1.0-50 arm64 vmlinux).  kallsyms gives alt_user every byte up
 * to after_alt, so the kernel accepts a probe on alt_user+0x10..+0x2c
 * although its ELF size is 0x10.  Linked into vmlinux-alt through
 * vmlinux.lds (a kernel image: _stext, __start_kprobe_blacklist). */
#define FUNC(name)	.globl name; .type name, %function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

FUNC(_start)
	adr	x0, counter
	bl	alt_user
1:	b	1b
ENDF(_start)

/* x0: a pointer to a counter; returns it incremented. */
FUNC(alt_user)
	mov	x1, x0
661:	nop			/* the patch site: boot copies 662 here */
	b	663f		/* the out-of-line LL/SC fallback */
664:	ret
ENDF(alt_user)

	.subsection 1
/* What objcopy --prefix-symbols=__kvm_nvhe_ makes of a mapping symbol in
 * the nVHE hypervisor's objects; kallsyms leaves it out, so it does not
 * end alt_user's bytes. */
__kvm_nvhe_$x:
662:	add	x0, x0, #1	/* replacement of the nop at 661 (+0x10) */
663:	ldxr	x2, [x1]	/* +0x14: the LL/SC loop alt_user runs */
	add	x2, x2, #1	/* +0x18 */
	stxr	w3, x2, [x1]	/* +0x1c */
	cbnz	w3, 663b	/* +0x20 */
	mov	x0, x2		/* +0x24 */
	b	664b		/* +0x28: back into alt_user */
	.previous

	.section .text.after, "ax", %progbits
FUNC(after_alt)			/* the next symbol: where kallsyms stops */
	mov	x0, #0
	ret
ENDF(after_alt)

	.data
	.p2align 3
counter:
	.quad	0

	.section .note.GNU-stack, "", %progbits
