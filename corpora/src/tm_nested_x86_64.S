/* tm_nested_x86_64.S -- nested RTM transactions (txnest.so).  An xbegin
 * inside a transaction only raises the nesting depth; xend lowers it and
 * commits at depth 0.  A trap at any depth aborts the whole nest: the
 * state rolls back to the OUTERMOST xbegin and execution resumes at its
 * fallback.  So the window runs from the outer xbegin to the outer xend,
 * the inner xend included; only the code after the outer xend and the
 * fallback are safe. */
#define FUNC(name)	.globl name; .type name, @function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

/* outer { a++; inner { b++; } c++; } */
FUNC(tm_nested)
	xbegin	2f
	incl	(%rdi)
	xbegin	2f
	incl	4(%rdi)
	xend
	incl	8(%rdi)
	xend
	xorl	%eax, %eax
	ret
2:	movl	$-1, %eax
	ret
ENDF(tm_nested)

	.section .note.GNU-stack, "", @progbits
