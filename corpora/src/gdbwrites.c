/* gdbwrites.c -- -O2 functions whose write verdicts (`check --write`) are
 * cross-checked against GDB on the real program: tests/gdb_writes.rs runs
 * <target>/gdbwrites (this file + gdbdriver.c, static, no libc) under
 * qemu-user's gdbstub, writes VAR + 1 at every hit of a point with
 * gdb-multiarch, runs the program to its end and compares its output with
 * an unperturbed run.  The driver passes small fixed inputs and prints
 * every result, every buffer and gw_total, so whatever a caller could
 * observe shows in the output.
 *
 *   GW 1  gw_sum_calls: a loop with a call in every iteration.  At -O2 the
 *         loop bound n (and the pointer p) are turned into an end pointer
 *         before the loop; writing n after that changes nothing (GDB sees
 *         no effect).  A generated n that is a large number runs the loop
 *         into the instruction budget: such a trial says nothing about the
 *         write (issue 11, part 3).
 *   GW 2  gw_scale: a loop that stores into a buffer.
 *   GW 3  gw_keep: a parameter copied across a call.
 *   GW 4  gw_mix: straight-line arithmetic on three parameters.
 */

extern long gw_acc(long v);	/* gdbdriver.c: adds v to gw_total */

long gw_sum_calls(const long *p, long n)
{
	long s = 0;

	for (long i = 0; i < n; i++)
		s += gw_acc(p[i]);
	return s;
}

int gw_scale(int *buf, int n, int k)
{
	int last = 0;

	for (int i = 0; i < n; i++) {
		buf[i] = buf[i] * k + i;
		last = buf[i];
	}
	return last;
}

long gw_keep(long x, long y)
{
	long t = gw_acc(x);

	return t + x * 3 - y;
}

long gw_mix(long a, long b, long c)
{
	long d = a * 5 + b;
	long e = d ^ (c << 2);

	return e - a + (d >> 1);
}
