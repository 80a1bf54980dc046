/* state_aarch64.S -- effects the emulator must undo between trials.
 * `dc zva` zeroes a whole cache block in one go; Unicorn does it with a
 * plain memset that no write hook sees, so probesafe journals the block
 * itself before the instruction runs. */
#define FUNC(name)	.globl name; .type name, %function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

/* zero_block(p): clear the cache block that holds p. */
FUNC(zero_block)
	dc	zva, x0
	ret
ENDF(zero_block)

	.section .note.GNU-stack, "", %progbits
