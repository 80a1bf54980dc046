/* ppc64_asm.h -- function prologue/epilogue macros for both 64-bit
 * PowerPC ABIs.  gcc defines _CALL_ELF to 2 for ELFv2 (ppc64le) and to 1
 * for ELFv1 (ppc64 big-endian, -mabi=elfv1).
 *
 * ELFv1: the global symbol `name` is an 24-byte function descriptor in
 * .opd { code address, TOC base, environment }; the code starts at the
 * local label .L.name (this is what gcc itself emits).  .size covers the
 * code.  ELFv2: the symbol is the code; these functions do not use the
 * TOC so they have a single entry point (no .localentry needed).
 */
#if defined(_CALL_ELF) && _CALL_ELF == 2
	.abiversion 2
#define FUNC(name)				\
	.globl name;				\
	.type name, @function;			\
	.p2align 4;				\
name:						\
	.cfi_startproc
#define ENDF(name)				\
	.cfi_endproc;				\
	.size name, . - name
#else
	.abiversion 1
#define FUNC(name)				\
	.globl name;				\
	.section ".opd", "aw";			\
	.p2align 3;				\
name:						\
	.quad .L.name, .TOC.@tocbase, 0;	\
	.previous;				\
	.type name, @function;			\
	.p2align 4;				\
.L.name:					\
	.cfi_startproc
#define ENDF(name)				\
	.cfi_endproc;				\
	.size name, . - .L.name
#endif
#define HIDDEN(name)	.hidden name
