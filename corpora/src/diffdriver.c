/* diffdriver.c -- a freestanding static executable that calls leaf
 * functions of plain.c, atomics.c and the arch's llsc_*.S on
 * pseudo-random inputs and writes every result to stdout, so that
 * probesafe's emulator can be checked against real hardware (or
 * qemu-user).  The protocol is in corpora/README.md ("Differential
 * driver"); corpora/DIFFERENTIAL lists the table below, entry by entry,
 * and MUST be kept in the same order.
 *
 * No libc: own _start, raw write(2)/exit_group(2) system calls.
 * Only functions that make no calls are in the table (see README.md for
 * what was left out and why).
 */
#include <stdatomic.h>
#include <stdint.h>

/* ---- the functions under test (real signatures) ------------------------ */
int add3(int a, int b, int c);
long mul_add(long a, long b, long c);
unsigned int sum_array(const unsigned int *p, unsigned long n);
int classify(int x, int y);
int impl_a(int x);
int callee(int x);		/* hidden in plain.c: fine in a static link */
int callee_ext(int x);
int atomic_fetch_add_int(_Atomic int *p, int v);
long atomic_fetch_add_long(_Atomic long *p, long v);
int atomic_cas_int(_Atomic int *p, int expected, int desired);
int atomic_cas_long(_Atomic long *p, long expected, long desired);
int atomic_xchg_int(_Atomic int *p, int v);
long atomic_xchg_long(_Atomic long *p, long v);
#if defined(__aarch64__)
/* llsc_aarch64.S: x0 = pointer, x1/x2 = expected/desired for llsc_clrex */
unsigned long llsc_loop(unsigned long *p);	/* *p += 1, returns new *p */
int llsc_clrex(unsigned long *p, unsigned long expected, unsigned long desired);
unsigned long llsc_abandoned(unsigned long *p);	/* no store */
unsigned long llsc_long(unsigned long *p);	/* *p += 40, returns new *p */
long llsc_bounded(unsigned long *p);		/* *p += 1, returns new *p (or -1) */
#elif defined(__powerpc64__)
/* llsc_ppc64.S: r3 = pointer, results in r3 */
unsigned long llsc_loop(unsigned long *p);	/* *p += 1, returns new *p */
unsigned long llsc_long(unsigned long *p);	/* *p += 40, returns new *p */
long llsc_bounded(unsigned long *p);		/* *p += 1, returns new *p (or -1) */
unsigned long llsc_byte(unsigned char *p);	/* returns old byte + 1 (0..0x100), stores its low byte */
unsigned long llsc_half(unsigned short *p);	/* returns old half ^ 0x8001, stores it */
#endif

/* ---- raw system calls ---------------------------------------------------- */
#if defined(__x86_64__)
#define NR_write	1
#define NR_exit_group	231
static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}
#elif defined(__aarch64__)
#define NR_write	64
#define NR_exit_group	94
static long sys3(long n, long a, long b, long c)
{
	register long x8 __asm__("x8") = n;
	register long x0 __asm__("x0") = a;
	register long x1 __asm__("x1") = b;
	register long x2 __asm__("x2") = c;
	__asm__ volatile("svc #0"
			 : "+r"(x0)
			 : "r"(x8), "r"(x1), "r"(x2)
			 : "memory");
	return x0;
}
#elif defined(__powerpc64__)
#define NR_write	4
#define NR_exit_group	234
static long sys3(long n, long a, long b, long c)
{
	register long r0 __asm__("r0") = n;
	register long r3 __asm__("r3") = a;
	register long r4 __asm__("r4") = b;
	register long r5 __asm__("r5") = c;
	/* error: cr0.SO set and r3 = positive errno; return it negated */
	__asm__ volatile("sc\n\tbns+ 1f\n\tneg %1, %1\n1:"
			 : "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5)
			 :
			 : "r6", "r7", "r8", "r9", "r10", "r11", "r12",
			   "cr0", "ctr", "memory");
	return r3;
}
#else
#error "diffdriver: unsupported architecture"
#endif

static __attribute__((noreturn)) void exit_group(int status)
{
	for (;;)
		sys3(NR_exit_group, status, 0, 0);
}

static void write_all(const unsigned char *p, unsigned long n)
{
	while (n > 0) {
		long r = sys3(NR_write, 1, (long)p, (long)n);
		if (r <= 0)
			exit_group(1);
		p += r;
		n -= (unsigned long)r;
	}
}

/* ---- the protocol --------------------------------------------------------- */
#define NCASES	64
#define SEED	0xd1ff0000u

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z;

	*state += 0x9e3779b97f4a7c15ull;
	z = *state;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint64_t buf[8];			/* the memory the pointer args point at */
static unsigned char rec[64 * 16];	/* one case's records (<= 64 entries) */
static unsigned long nrec;

static void fill(uint64_t a)
{
	for (int k = 0; k < 8; k++)
		buf[k] = a + (uint64_t)k;
}

static void put_le64(uint64_t v)
{
	for (int i = 0; i < 8; i++)
		rec[nrec++] = (unsigned char)(v >> (8 * i));
}

/* Result normalisation: the C value converted to int64_t/uint64_t. */
#define R_i32(e)	((uint64_t)(int64_t)(int32_t)(e))
#define R_u32(e)	((uint64_t)(uint32_t)(e))
#define R_i64(e)	((uint64_t)(int64_t)(e))
#define R_u64(e)	((uint64_t)(e))

/* One table entry: fill buf, call, record (result, buf[0]). */
#define T(ret, call)					\
	do {						\
		uint64_t r_;				\
		fill(a);				\
		r_ = R_##ret(call);			\
		put_le64(r_);				\
		put_le64(buf[0]);			\
	} while (0)

/* Argument conversions (C's own conversions from uint64_t). */
#define I32(v)	((int)(v))
#define I64(v)	((long)(v))
#define U64(v)	((unsigned long)(v))
#define LEN8(v)	((v) % 8)

static void run_case(uint64_t a, uint64_t b, uint64_t c)
{
	/* KEEP IN SYNC WITH corpora/DIFFERENTIAL (same order, same args). */
	T(i32, add3(I32(a), I32(b), I32(c)));
	T(i64, mul_add(I64(a), I64(b), I64(c)));
	T(u32, sum_array((const unsigned int *)buf, LEN8(c)));
	T(i32, classify((int)LEN8(c), I32(b)));
	T(i32, impl_a(I32(a)));
	T(i32, callee(I32(b)));
	T(i32, callee_ext(I32(c)));
	T(i32, atomic_fetch_add_int((_Atomic int *)buf, I32(b)));
	T(i64, atomic_fetch_add_long((_Atomic long *)buf, I64(b)));
	T(i32, atomic_cas_int((_Atomic int *)buf, I32(a), I32(c)));
	T(i32, atomic_cas_int((_Atomic int *)buf, I32(b), I32(c)));
	T(i32, atomic_cas_long((_Atomic long *)buf, I64(a), I64(c)));
	T(i32, atomic_cas_long((_Atomic long *)buf, I64(b), I64(c)));
	T(i32, atomic_xchg_int((_Atomic int *)buf, I32(c)));
	T(i64, atomic_xchg_long((_Atomic long *)buf, I64(c)));
#if defined(__aarch64__)
	T(u64, llsc_loop((unsigned long *)buf));
	T(i32, llsc_clrex((unsigned long *)buf, U64(a), U64(c)));
	T(i32, llsc_clrex((unsigned long *)buf, U64(b), U64(c)));
	T(u64, llsc_abandoned((unsigned long *)buf));
	T(u64, llsc_long((unsigned long *)buf));
	T(i64, llsc_bounded((unsigned long *)buf));
#elif defined(__powerpc64__)
	T(u64, llsc_loop((unsigned long *)buf));
	T(u64, llsc_long((unsigned long *)buf));
	T(i64, llsc_bounded((unsigned long *)buf));
	T(u64, llsc_byte((unsigned char *)buf));
	T(u64, llsc_half((unsigned short *)buf));
#endif
}

__attribute__((noreturn, used)) void driver_main(void)
{
	for (uint64_t i = 0; i < NCASES; i++) {
		uint64_t state = SEED + i;
		uint64_t a = splitmix64(&state);
		uint64_t b = splitmix64(&state);
		uint64_t c = splitmix64(&state);

		nrec = 0;
		run_case(a, b, c);
		write_all(rec, nrec);
	}
	exit_group(0);
}

/* ---- entry point -------------------------------------------------------- */
#if defined(__x86_64__)
/* The kernel enters with %rsp 16-byte aligned (pointing at argc); a C
 * function expects %rsp+8 aligned, so realign and call. */
__asm__(".text\n"
	".globl _start\n"
	".type _start, @function\n"
	".p2align 4\n"
	"_start:\n"
	".cfi_startproc\n"
	".cfi_undefined rip\n"
	"	xorl %ebp, %ebp\n"
	"	andq $-16, %rsp\n"
	"	call driver_main\n"
	"	hlt\n"
	".cfi_endproc\n"
	".size _start, . - _start\n");
#else
/* aarch64: sp is 16-byte aligned at entry.  ppc64 ELFv1: e_entry is the
 * .opd descriptor, and the kernel (and qemu) load r2 from it; ppc64le
 * ELFv2: r12 = entry, from which the global entry computes r2.  r1 is a
 * valid, aligned stack pointer on both. */
__attribute__((noreturn)) void _start(void)
{
	driver_main();
}
#endif
