/* kmodule.c -- the module's own cases (kmod-windows.ko only): code that
 * reaches the module's data and its other functions through relocations,
 * as a loaded module does once the kernel's loader has applied them
 * (x86-64 R_X86_64_PC32/32S, arm64 ADR_PREL_PG_HI21 + ADD_ABS_LO12_NC,
 * POWER TOC16_HA/LO against the module's TOC, and the calls' PLT32 /
 * CALL26 / REL24).  Built with the other module sources by `ld -r` into
 * one ET_REL, as Kbuild builds a .ko. */

static unsigned long mod_lock;		/* .bss: the lock word */
unsigned long mod_step = 2;		/* .data */
/* .data: read before each window; only the value the module was built with
 * lets the entry reach it, so a reference left unrelocated (reading other
 * bytes) shows as an unreached window, not as a confirmed one. */
unsigned long mod_magic = 0x6b6d6f64;	/* "kmod" */
#define MOD_MAGIC 0x6b6d6f64

unsigned long kdata_add(unsigned long v);	/* kcontext.c, another object */

/* After the .data check, an atomic add on the module's .bss word with a
 * .data operand (an ldaxr/stlxr loop on arm64 without LSE, ldarx/stdcx. on
 * POWER; lock xadd on x86-64, ldaddal with LSE), then a call to another
 * function of the module. */
unsigned long mod_take(unsigned long v)
{
	if (mod_magic != MOD_MAGIC)
		return 0;
	unsigned long old = __atomic_fetch_add(&mod_lock, v + mod_step,
					       __ATOMIC_SEQ_CST);

	return old + kdata_add(v);
}

#if defined(__x86_64__)
/* After the .data check, a transaction on the module's .bss word
 * (RIP-relative), with a locked fallback at xbegin's abort target. */
unsigned int mod_tx_add(unsigned long v)
{
	unsigned int status = ~0u;

	if (mod_magic != MOD_MAGIC)
		return 0;
	asm volatile("xbegin 1f\n\t"
		     "addq %1, %2\n\t"
		     "xend\n\t"
		     "jmp 2f\n"
		     "1:\tlock addq %1, %2\n"
		     "2:"
		     : "+a"(status), "+r"(v), "+m"(mod_lock)
		     :
		     : "memory");
	return status;
}
#endif
