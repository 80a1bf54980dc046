/* sysreg_x86_64.S -- a time stamp read inside an RTM region: rdtsc must
 * execute without ending the trial, and the trap still aborts the
 * transaction. */
#define FUNC(name)	.globl name; .type name, @function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

/* Region = xbegin, rdtsc, add, xend. */
FUNC(tsc_stamp)
	xbegin	1f
	rdtsc
	addl	%eax, (%rdi)
	xend
	ret
1:	lock incl (%rdi)
	ret
ENDF(tsc_stamp)
