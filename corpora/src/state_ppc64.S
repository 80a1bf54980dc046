/* state_ppc64.S -- effects the emulator must undo between trials.
 * `dcbz` zeroes a whole cache block in one go; Unicorn does it with a
 * plain memset that no write hook sees, so probesafe journals the block
 * itself before the instruction runs. */
#include "ppc64_asm.h"

	.text

/* zero_block(p): clear the cache block that holds p. */
FUNC(zero_block)
	dcbz	0, %r3
	blr
ENDF(zero_block)

	.section .note.GNU-stack, "", @progbits
