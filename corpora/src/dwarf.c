/* dwarf.c -- DWARF test cases for probesafe: inline instances, line-table
 * views, variable locations and compiler clones.  Built per target at -O0,
 * -O2 and -O3 with -g (DWARF 5) into <target>/dwarf-O*.so; the facts gcc 12
 * actually produced are in corpora/DWARF.md (generated) and README.md.
 *
 * The numbered CASE comments name what each function demonstrates:
 *   CASE 1  an inlined atomic primitive, two callers (LL/SC loop = two views)
 *   CASE 2  a static inline helper with parameters, several inline instances
 *   CASE 3  compiler clones: .isra.0 .constprop.0 .part.0 .cold
 *   CASE 4  a tail call, and a self-recursive function that becomes a loop
 *   CASE 5  variable locations: register copies, consumed values, a common
 *           subexpression, memory, constants, location lists
 *
 * Two external functions, declared but not defined (the .so is linked
 * -shared -nostdlib, so they stay undefined and are called through the PLT),
 * keep values alive across calls and give gcc something it cannot fold.
 * There is no global data, so no GOT entries beyond the PLT's.
 * At -O0 nothing is inlined and no clone exists: every function, the static
 * ones included, has exactly one out-of-line copy.
 */

extern void dw_sink(int *p);	/* takes an address: forces memory */
extern int dw_ext(int x);	/* opaque: keeps values live across a call */

/* Keeps a value in a register without storing it anywhere. */
#define USE(v)	__asm__ volatile("" : : "r"(v))

/* ------------------------------------------------------------------------
 * CASE 1: an inlined atomic primitive used from two callers.
 *
 * At -O2/-O3 atomic_inc_return is inlined into counter_bump and
 * refcount_get (one DW_TAG_inlined_subroutine each; it has no out-of-line
 * copy).  On aarch64 (no LSE), ppc64 and ppc64le the atomic is an LL/SC
 * loop (ldaxr/add/stlxr/cbnz, lwarx/addi/stwcx./bne): the loop's addresses
 * belong both to the caller's line and to the primitive's line, i.e. one
 * address has several line-table rows ("views", DW_AT_GNU_entry_view).  On
 * x86_64 it is `lock xadd`, on aarch64-lse `ldaddal`: a single instruction.
 * counter_read is an ordinary out-of-line function (a relaxed load).
 */
static inline int atomic_inc_return(int *p)
{
	return __atomic_add_fetch(p, 1, __ATOMIC_SEQ_CST);
}

int counter_bump(int *c)
{
	return atomic_inc_return(c);
}

int refcount_get(int *r)
{
	int v = atomic_inc_return(r);
	return v > 0 ? v : 0;
}

int counter_read(int *c)
{
	return __atomic_load_n(c, __ATOMIC_RELAXED);
}

/* ------------------------------------------------------------------------
 * CASE 2: a small static inline helper inlined into several callers.
 *
 * At each inline instance's entry pc the parameters are found in different
 * ways: x in the caller's argument register (DW_OP_regN), k and bias as
 * constants (DW_OP_litN, DW_OP_stack_value) where the caller passes
 * constants, bias/spare as memory (DW_OP_bregN+off: the caller's p[0]/p[1],
 * never loaded because mix ignores spare), spare as a DWARF expression of
 * the caller's registers (a / b: DW_OP_div).  spare is never used by mix;
 * where its argument is __builtin_popcount(a) gcc drops the computation and
 * DWARF has no operator for it: that parameter has NO DW_AT_location
 * (optimised out).  mix_twice holds two instances of mix.
 */
static inline int mix(int x, int k, int bias, int spare)
{
	int y = x * k;
	y ^= y >> 5;
	USE(y);
	return y + bias;
}

int mix_const(int a)
{
	return mix(a, 3, 0, __builtin_popcount(a));	/* spare optimised out */
}

int mix_load(int a, int *p)
{
	return mix(a + 1, 5, p[0], p[1]);		/* spare in memory */
}

int mix_div(int a, int b)
{
	return mix(a, b, 7, a / b) + 1;			/* spare = a / b */
}

int mix_twice(int a, int b)
{
	return mix(a, 9, b, __builtin_popcount(b)) ^ mix(b, a, 11, a);
}

/* ------------------------------------------------------------------------
 * CASE 3: compiler clones.
 *
 * req_cost reads two fields through its pointer: IPA-SRA passes the two
 * ints instead (req_cost.isra.0, loads moved into req_total).
 * shift_mix is always called with shift == 4: IPA-CP specialises it
 * (shift_mix.constprop.0).
 * lookup has a tiny likely fast path and a big slow path: partial inlining
 * puts the fast path into each caller and the rest into lookup.part.0.
 * checked_scale's b == 0 path is unlikely and calls a cold function: with
 * -freorder-blocks-and-partition (on by default at -O2 on x86_64 only) it
 * is moved to checked_scale.cold, and checked_scale's DW_TAG_subprogram
 * then has DW_AT_ranges (two ranges) instead of low_pc/high_pc.
 */
struct req {
	int id;
	int len;
	int flags;
	int pad[13];
};

static __attribute__((noinline)) int req_cost(const struct req *r)
{
	return r->len * 3 + (r->flags & 0xff);
}

int req_total(const struct req *a, const struct req *b)
{
	return req_cost(a) + req_cost(b);
}

static __attribute__((noinline)) int shift_mix(int x, int shift)
{
	x ^= x << shift;
	x ^= x >> (shift + 3);
	return x * 0x9e3779b1;
}

int shift_a(int x)
{
	return shift_mix(x, 4) + 1;
}

int shift_b(int x)
{
	return shift_mix(x + 9, 4) - 1;
}

static int lookup(const int *tbl, int n, int key)
{
	if (__builtin_expect(tbl[0] == key, 1))
		return 0;
	/* slow path: large enough that gcc does not inline it whole */
	for (int i = 1; i < n; i++) {
		int v = tbl[i];
		v ^= v >> 3;
		v *= 0x45d9f3b;
		v ^= v >> 16;
		v *= 0x119de1f3;
		v ^= v >> 13;
		if (v == key)
			return i;
		if ((v & 0xff) == (key & 0xff))
			return -i;
		if ((v & 0xff00) == (key & 0xff00))
			return i * 3;
		if (((v >> 16) ^ key) == 0x7777)
			return i + n;
		USE(v);
	}
	return tbl[n - 1] ^ tbl[n >> 1] ^ key;
}

int lookup_a(const int *t, int k)
{
	return lookup(t, 16, k) + 1;
}

int lookup_b(const int *t, int n)
{
	return lookup(t, n, 42) * 2;
}

int lookup_c(const int *t, int n, int k)
{
	return lookup(t, n, k ^ 5) - 3;
}

static __attribute__((cold, noinline)) int report_bad(int v)
{
	return dw_ext(v) - 1;
}

int checked_scale(int a, int b)
{
	int r = 0;

	if (__builtin_expect(b == 0, 0))
		return report_bad(a);
	for (int i = 0; i < (b & 7); i++) {
		r += a * i;
		r ^= r >> 3;
	}
	return r / b;
}

/* ------------------------------------------------------------------------
 * CASE 4: a tail call and a self-recursive function that becomes a loop.
 *
 * tail_wrap's last statement returns tail_target's result: at -O2/-O3 the
 * call is a jump (`jmp`/`b`), a DW_TAG_call_site with DW_AT_call_tail_call
 * (DW_AT_GNU_tail_call in DWARF 4), and tail_wrap has no return
 * instruction of its own.  tail_target is hidden, so even ppc may sibcall it.
 * gcd calls itself in tail position: at -O2/-O3 the recursion is a loop
 * (no call, no call site); at -O0 it is a real recursive call
 * (through gcd.localalias).
 */
__attribute__((noinline, visibility("hidden"))) int tail_target(int x)
{
	return (x * 7) ^ 0x33;
}

int tail_wrap(int x)
{
	return tail_target(x + 2);
}

int gcd(int a, int b)
{
	if (b == 0)
		return a;
	return gcd(b, a % b);
}

/* ------------------------------------------------------------------------
 * CASE 5: variables in several locations (-O2/-O3).
 *
 * keep_param: x arrives in the first argument register and is copied into
 *   a callee-saved register before the call; after the call the code reads
 *   the copy.  x's location list: argument register, then the copy, then
 *   DW_OP_entry_value (x86_64, aarch64; on ppc gcc copies x into r31 too,
 *   but its DWARF names only r3 and then DW_OP_entry_value).
 * consumed: a is consumed by a * b before the call line; from there on its
 *   only location is DW_OP_entry_value(reg), DW_OP_stack_value (not in any
 *   register or memory any more).
 * cse: a + b is computed once and used by both x and y; y's location is an
 *   expression over the common subexpression's register.
 * in_memory: local's address escapes to dw_sink, so it lives in the stack
 *   frame at -O2 too (DW_OP_fbreg).
 * constants: k is DW_AT_const_value 42; d = a + 5 is DW_OP_bregN+5,
 *   DW_OP_stack_value before it is materialised.
 * loclist: s moves between registers around two calls: a location list
 *   with several entries (and a and b have their own lists).
 */
int keep_param(int x)
{
	int r = dw_ext(x);
	return r + x * 3;
}

int consumed(int a, int b)
{
	int t = a * b;
	int u = dw_ext(t);	/* a is dead from here on */
	return u + b;
}

int cse(int a, int b)
{
	int x = (a + b) * 3;
	int y = (a + b) ^ 7;
	USE(x);
	return x + y;
}

int in_memory(int v)
{
	int local = v * 2;
	dw_sink(&local);
	return local + 1;
}

int constants(int a)
{
	int k = 42;
	int d = a + 5;
	int r = dw_ext(d);
	return r + k;
}

int loclist(int a, int b)
{
	int s = a;
	s = dw_ext(s);
	s += b;
	s = dw_ext(s);
	s ^= a;
	return s;
}
