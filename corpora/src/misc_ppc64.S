/* misc_ppc64.S -- instructions powerpc kprobes refuse to probe
 * (arch_prepare_kprobe: mtmsr[d], rfi[d]). */
#include "ppc64_asm.h"

	.text

/* After a conditional branch: mtmsrd, mtmsr, trap, rfid.  (trap is a
 * breakpoint-like instruction, but it is not in the kernel's mtmsr/rfi
 * refusal list.) */
FUNC(unsteppable)
	cmpdi	%r3, 0
	beq	1f
	mtmsrd	%r3
	mtmsr	%r3
	trap
	rfid
1:	li	%r3, 0
	blr
ENDF(unsteppable)

	.section .note.GNU-stack, "", @progbits
