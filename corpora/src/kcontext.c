/* kcontext.c -- kimage cases that need the kernel's own context to run:
 * the image's .data and .bss at their link addresses, and `current` /
 * per-CPU data through the registers the kernel keeps them in (arm64
 * sp_el0, POWER r13 = the paca, x86-64 the %gs base).  Each one is an
 * LL/SC window (arm64 without LSE, POWER) or a transaction (x86-64) on
 * memory reached only through that context. */

static unsigned long counter;		/* .bss, at a kernel address */
unsigned long kdata_bias = 100;		/* .data */

/* An atomic add on the image's own .bss, with a .data operand: an
 * ldaxr/stlxr loop (arm64, no LSE), ldarx/stdcx. (POWER), lock xadd
 * (x86-64, LSE). */
unsigned long kdata_add(unsigned long v)
{
	return __atomic_add_fetch(&counter, v + kdata_bias, __ATOMIC_SEQ_CST);
}

/* An atomic add on a word of `current` (arm64), of the paca (POWER), or a
 * transactional add to a per-CPU word (x86-64, as this_cpu_add would be
 * inside an RTM region). */
unsigned long kcontext_add(unsigned long v)
{
#if defined(__aarch64__)
	unsigned long *cur;
	asm volatile("mrs %0, sp_el0" : "=r"(cur));
	return __atomic_add_fetch(&cur[2], v, __ATOMIC_SEQ_CST);
#elif defined(__powerpc64__)
	unsigned long *paca;
	asm volatile("mr %0, 13" : "=r"(paca));
	return __atomic_add_fetch(&paca[2], v, __ATOMIC_SEQ_CST);
#elif defined(__x86_64__)
	unsigned int status = ~0u;
	asm volatile("xbegin 1f\n\t"
		     "addq %1, %%gs:16\n\t"
		     "xend\n"
		     "1:"
		     : "+a"(status)
		     : "r"(v)
		     : "memory");
	return status;
#endif
}
