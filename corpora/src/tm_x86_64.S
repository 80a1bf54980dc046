/* tm_x86_64.S -- Intel RTM (TSX) patterns.  The int3 of a kprobe (and the
 * single-step trap) inside a transaction aborts it; xbegin's branch target
 * is the abort handler, only its fall-through path is transactional. */
#define FUNC(name)	.globl name; .type name, @function; .p2align 4; name: .cfi_startproc
#define ENDF(name)	.cfi_endproc; .size name, . - name

	.text

/* xbegin with a real fallback: region = xbegin, incl, xend.  The ret
 * after xend and the locked fallback are safe. */
FUNC(tm_fallback)
	xbegin	1f
	incl	(%rdi)
	xend
	ret
1:	lock incl (%rdi)
	ret
ENDF(tm_fallback)

/* xbegin whose abort handler is the xbegin itself: retries forever.
 * Hidden (no .dynsym entry). */
	.hidden	tm_nofallback
FUNC(tm_nofallback)
1:	xbegin	1b
	incl	(%rdi)
	xend
	ret
ENDF(tm_nofallback)

/* A transaction with xtest inside and an explicit xabort $0xff on one
 * path; both the xend and the xabort end the region. */
FUNC(tm_abort)
	xbegin	2f
	xtest
	cmpl	$0, (%rdi)
	jne	1f
	xabort	$0xff
1:	incl	(%rdi)
	xend
	xorl	%eax, %eax
	ret
2:	movl	$-1, %eax
	ret
ENDF(tm_abort)

	.section .note.GNU-stack, "", @progbits
