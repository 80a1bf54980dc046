/* writes.c -- cases for probesafe's write checks (`check --write`,
 * `--reference`, entry/return balance) that dwarf.c does not have.
 * Built per target at -O0 and -O2 into <target>/writes-O0.so and
 * writes-O2.so.  dwarf-O0.so/dwarf-O2.so hold the other cases (CASE 4 and
 * CASE 5 of dwarf.c: a copy in a callee-saved register, a consumed value,
 * memory at -O2, constants and computed values, gcd's loop).
 *
 *   WRITE 1  cse_shared: x = a + b is kept in a callee-saved register across
 *            the call, and at -O2 gcc reuses that register for the (a + b)
 *            of the return expression: writing x after the call's argument
 *            is set up changes the return value, which the same write at
 *            -O0 (where a + b is recomputed from a and b) does not:
 *            overbroad-write against writes-O0.so.
 *   WRITE 2  pair_sum: a two-word struct passed by value lives in two
 *            registers, one DWARF location of two pieces; writing one piece
 *            is not writing the variable: partial-write.
 *   WRITE 3  sum_to: a self-recursive function.  At -O0 every level is a
 *            real call (sum_to enters n + 1 times for one call from
 *            outside); at -O2 gcc turns the recursion into a loop and it
 *            enters once: a .call probe sees one hit where the source
 *            promises n + 1 (entry-return-imbalance against writes-O0.so).
 */

extern int dw_ext(int x);	/* opaque: keeps values live across a call */

int cse_shared(int a, int b)
{
	int x = a + b;
	int y = dw_ext(x);
	return y + (a + b);
}

struct pair {
	long lo, hi;
};

long pair_sum(struct pair p)
{
	return dw_ext((int)p.lo) + p.hi;
}

unsigned sum_to(unsigned n)
{
	if (n == 0)
		return 0;
	return n + sum_to(n - 1);
}
