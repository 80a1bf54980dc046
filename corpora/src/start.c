/* start.c -- the entry point of the vmlinux-like ET_EXEC.  Calls every
 * blacklist.c function so nothing looks unused; never meant to run. */
unsigned long kp_func(const unsigned long *, unsigned long);
unsigned long noinstr_func(const unsigned long *, unsigned long);
unsigned long entry_func(const unsigned long *, unsigned long);
unsigned long irqentry_func(const unsigned long *, unsigned long);
unsigned long nokprobe_a(const unsigned long *, unsigned long);
unsigned long nokprobe_b(const unsigned long *, unsigned long);
unsigned long not_blacklisted(const unsigned long *, unsigned long);

static unsigned long data[4] = { 1, 2, 3, 4 };
volatile unsigned long sink;

void _start(void)
{
	sink = kp_func(data, 4) + noinstr_func(data, 4) + entry_func(data, 4)
	     + irqentry_func(data, 4) + nokprobe_a(data, 4)
	     + nokprobe_b(data, 4) + not_blacklisted(data, 4);
	for (;;)
		;
}
