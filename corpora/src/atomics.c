/* atomics.c -- C11 <stdatomic.h> read-modify-write operations.
 *
 * How they compile decides whether there is an LL/SC window:
 *   aarch64 (-march=armv8-a -mno-outline-atomics): ldaxr/stlxr retry loops
 *       -> llsc-reservation-loss window (and the exclusives are unsteppable);
 *   aarch64-lse (-march=armv8.1-a+lse): ldaddal / casal / swpal, single
 *       instructions -> no window;
 *   ppc64 / ppc64le: lwarx/stwcx. and ldarx/stdcx. loops -> window;
 *   x86_64: lock xadd / lock cmpxchg / xchg, single instructions -> no window.
 */
#include <stdatomic.h>

int atomic_fetch_add_int(_Atomic int *p, int v)
{
	return atomic_fetch_add(p, v);
}

long atomic_fetch_add_long(_Atomic long *p, long v)
{
	return atomic_fetch_add(p, v);
}

/* Strong compare-and-swap: the compare-failure path leaves the loop
 * without a store-conditional (and without clrex on aarch64). */
int atomic_cas_int(_Atomic int *p, int expected, int desired)
{
	return atomic_compare_exchange_strong(p, &expected, desired);
}

int atomic_cas_long(_Atomic long *p, long expected, long desired)
{
	return atomic_compare_exchange_strong(p, &expected, desired);
}

int atomic_xchg_int(_Atomic int *p, int v)
{
	return atomic_exchange(p, v);
}

long atomic_xchg_long(_Atomic long *p, long v)
{
	return atomic_exchange(p, v);
}
