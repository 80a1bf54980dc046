/* sysreg_ppc64.S -- kernel code that reads and writes the time base and
 * the other timer SPRs (mftb, mfspr/mtspr of TBL, DEC, PURR), inside and
 * outside LL/SC windows.  Unicorn 2.1.5 never sets up the time base of its
 * POWER CPU (env->tb_env stays NULL): executing any of these instructions
 * would crash the whole process, so probesafe models them (reads give a
 * fixed, plausible value; writes are dropped).  Found on Debian's 6.1.0-50
 * ppc64el vmlinux, where `scan` died with SIGSEGV.
 */
#include "ppc64_asm.h"

	.text

/* A time-stamped counter: the time base is read between ldarx and stdcx.
 * Window = ldarx, mftb, add, stdcx. */
FUNC(tb_stamp)
1:	ldarx	%r4, 0, %r3
	mftb	%r5
	add	%r4, %r4, %r5
	stdcx.	%r4, 0, %r3
	bne-	1b
	mr	%r3, %r4
	blr
ENDF(tb_stamp)

/* The timer SPRs read through mfspr and written through mtspr inside a
 * window: TBL (268), DEC (22), PURR (309). */
FUNC(spr_window)
1:	ldarx	%r4, 0, %r3
	mfspr	%r5, 268
	mfspr	%r6, 22
	mtspr	309, %r4
	mtspr	22, %r5
	add	%r4, %r4, %r6
	stdcx.	%r4, 0, %r3
	bne-	1b
	mr	%r3, %r4
	blr
ENDF(spr_window)
