/* gdbdriver.c -- the driver of gdbwrites.c: a freestanding static
 * executable (no libc: own _start, raw write(2)/exit_group(2)) that calls
 * each function of gdbwrites.c with small fixed inputs and prints every
 * result, the buffers they work on and gw_total, one hex word a line.
 * tests/gdb_writes.rs compares this output of a run in which GDB wrote a
 * variable with the output of an unperturbed run.
 */
#include <stdint.h>

long gw_sum_calls(const long *p, long n);
int gw_scale(int *buf, int n, int k);
long gw_keep(long x, long y);
long gw_mix(long a, long b, long c);

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
	__asm__ volatile("sc\n\tbns+ 1f\n\tneg %1, %1\n1:"
			 : "+r"(r0), "+r"(r3), "+r"(r4), "+r"(r5)
			 :
			 : "r6", "r7", "r8", "r9", "r10", "r11", "r12",
			   "cr0", "ctr", "memory");
	return r3;
}
#else
#error "gdbdriver: unsupported architecture"
#endif

static __attribute__((noreturn)) void exit_group(int status)
{
	for (;;)
		sys3(NR_exit_group, status, 0, 0);
}

long gw_total;

/* Called by the functions under test: a real callee, so that its
 * arguments show in the output. */
__attribute__((noinline)) long gw_acc(long v)
{
	gw_total = gw_total * 31 + v;
	return v * 2 + 1;
}

static char line[32];

static void put(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	int n = 0;

	for (int s = 60; s >= 0; s -= 4)
		line[n++] = digits[(v >> s) & 0xf];
	line[n++] = '\n';
	if (sys3(NR_write, 1, (long)line, n) != n)
		exit_group(1);
}

/* Volatile: the compiler must not fold the inputs into the calls. */
static volatile long in_long[] = { 3, 1, 4, 1, 5, 9, 2, 6, 5, 3 };
static volatile int in_int[] = { 7, -2, 5, 11, 0, 3, 8, 1 };

static long arr[10];
static int buf[10];

__attribute__((noreturn, used)) void driver_main(void)
{
	for (int i = 0; i < 10; i++) {
		arr[i] = in_long[i];
		buf[i] = in_int[i % 8];
	}
	put(gw_sum_calls(arr, in_long[4]));		/* n = 5 */
	put(gw_sum_calls(arr + 2, in_long[0]));		/* n = 3 */
	put(gw_sum_calls(arr + 1, in_long[9] + 1));	/* n = 4 */
	put(gw_scale(buf, in_int[2] + 1, in_int[5]));	/* n = 6, k = 3 */
	put(gw_scale(buf + 1, in_int[5] - 1, in_int[1])); /* n = 2, k = -2 */
	put(gw_scale(buf + 2, in_int[2], in_int[7] + 1));	/* n = 5, k = 2 */
	put(gw_keep(in_long[0] * 7, in_long[7]));	/* 21, 6 */
	put(gw_keep(-in_long[2], in_long[8]));		/* -4, 5 */
	put(gw_mix(in_long[1], in_long[5], in_long[3]));
	put(gw_mix(in_long[6] * 3, -in_long[7], in_long[9] * 11));
	put(gw_mix(in_long[1], in_long[6], in_long[0]));	/* d = 7: odd */
	for (int i = 0; i < 10; i++)
		put(arr[i]);
	for (int i = 0; i < 10; i++)
		put((uint64_t)(uint32_t)buf[i]);
	put(gw_total);
	exit_group(0);
}

/* ---- entry point (as in diffdriver.c) ------------------------------------ */
#if defined(__x86_64__)
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
__attribute__((noreturn)) void _start(void)
{
	driver_main();
}
#endif
