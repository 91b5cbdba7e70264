/*
 * kmemsim classic-kernel capture init: a tiny static /init with no libc.
 *
 * Runs as pid 1 from an initramfs on an old (2.6.11, 2.6.24) i386 kernel or a
 * newer x86_64 one.  It mounts proc (and sysfs when present), prints the
 * memory views of /proc to the console between separators, runs a small
 * workload (fork, pipes, files in rootfs), prints them again, optionally
 * provokes a failing order-8 kmalloc (boot with "pafail=1", see pafail()),
 * drives one child into the OOM killer (boot with "oom=1"; it sets
 * vm.overcommit_memory=1 first so brk never refuses), prints the kernel
 * log and restarts the machine (QEMU runs with -no-reboot, so it exits).
 *
 * Build (this is our own program, not kernel code):
 *   gcc -m32 -static -nostdlib -ffreestanding -fno-pie -no-pie -fno-stack-protector \
 *       -Os -o init init.c                       # i386
 *   gcc -static -nostdlib -ffreestanding -fno-pie -no-pie -fno-stack-protector \
 *       -Os -o init init.c                       # x86_64
 *
 * Separators (each on a line of its own):
 *   ==== BEGIN <phase> <name> ====
 *   ==== END <phase> <name> ====
 * where <phase> is boot, busy (workload children alive), after (workload
 * done), held (the pafail child holds the memory), pafail (after the failed
 * allocation), oom (after the OOM kill) or final, and <name> is the /proc or
 * /sys path or "dmesg" (the kernel log, syslog(SYSLOG_ACTION_READ_ALL)).  A
 * file that cannot be opened prints "==== ABSENT <phase> <name> ====".
 */

typedef unsigned long ulong;

#if defined(__i386__)
#define NR_exit 1
#define NR_fork 2
#define NR_read 3
#define NR_write 4
#define NR_open 5
#define NR_close 6
#define NR_unlink 10
#define NR_mknod 14
#define NR_mount 21
#define NR_sync 36
#define NR_mkdir 39
#define NR_pipe 42
#define NR_brk 45
#define NR_readlink 85
#define NR_reboot 88
#define NR_syslog 103
#define NR_wait4 114
#define NR_nanosleep 162
#define NR_getdents64 220
#define NR_dup2 63
#define NR_setrlimit 75
#define NR_select 142 /* _newselect */

static long sc(long n, long a, long b, long c, long d, long e)
{
	long r;
	__asm__ volatile("int $0x80"
			 : "=a"(r)
			 : "0"(n), "b"(a), "c"(b), "d"(c), "S"(d), "D"(e)
			 : "memory");
	return r;
}

__asm__(".globl _start\n_start:\n\txor %ebp,%ebp\n\tmov %esp,%eax\n\tand $-16,%esp\n"
	"\tsub $12,%esp\n\tpush %eax\n\tcall cmain\n\thlt\n");
#elif defined(__x86_64__)
#define NR_read 0
#define NR_write 1
#define NR_open 2
#define NR_close 3
#define NR_brk 12
#define NR_pipe 22
#define NR_nanosleep 35
#define NR_fork 57
#define NR_exit 60
#define NR_wait4 61
#define NR_readlink 89
#define NR_mkdir 83
#define NR_unlink 87
#define NR_mknod 133
#define NR_syslog 103
#define NR_sync 162
#define NR_mount 165
#define NR_reboot 169
#define NR_getdents64 217
#define NR_dup2 33
#define NR_setrlimit 160
#define NR_select 23

static long sc(long n, long a, long b, long c, long d, long e)
{
	long r;
	register long r10 __asm__("r10") = d;
	register long r8 __asm__("r8") = e;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "0"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8)
			 : "rcx", "r11", "memory");
	return r;
}

__asm__(".globl _start\n_start:\n\txor %ebp,%ebp\n\tmov %rsp,%rdi\n\tand $-16,%rsp\n"
	"\tcall cmain\n\thlt\n");
#else
#error "i386 or x86_64 only"
#endif

#define O_RDONLY 0
#define O_WRONLY 1
#define O_CREAT 0100
#define O_TRUNC 01000
#define O_DIRECTORY 0200000

void *memset(void *s, int c, ulong n)
{
	unsigned char *p = s;
	while (n--)
		*p++ = (unsigned char)c;
	return s;
}

void *memcpy(void *d, const void *s, ulong n)
{
	unsigned char *p = d;
	const unsigned char *q = s;
	while (n--)
		*p++ = *q++;
	return d;
}

static ulong slen(const char *s)
{
	ulong n = 0;
	while (s[n])
		n++;
	return n;
}

static int seq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void wr(const char *s, ulong n)
{
	while (n) {
		long r = sc(NR_write, 1, (long)s, (long)n, 0, 0);
		if (r <= 0)
			return;
		s += r;
		n -= r;
	}
}

static void puts_(const char *s) { wr(s, slen(s)); }

static char *utoa(ulong v, char *end)
{
	*--end = 0;
	do
		*--end = (char)('0' + v % 10);
	while (v /= 10);
	return end;
}

static void putnum(long v)
{
	char b[24];
	if (v < 0) {
		puts_("-");
		v = -v;
	}
	puts_(utoa((ulong)v, b + sizeof b));
}

static const char *phase = "boot";

static void sep(const char *what, const char *name)
{
	puts_("\n==== ");
	puts_(what);
	puts_(" ");
	puts_(phase);
	puts_(" ");
	puts_(name);
	puts_(" ====\n");
}

static char buf[65536];

static void cat(const char *path)
{
	long fd = sc(NR_open, (long)path, O_RDONLY, 0, 0, 0);
	long r;
	if (fd < 0) {
		sep("ABSENT", path);
		return;
	}
	sep("BEGIN", path);
	while ((r = sc(NR_read, fd, (long)buf, sizeof buf, 0, 0)) > 0)
		wr(buf, (ulong)r);
	sc(NR_close, fd, 0, 0, 0, 0);
	sep("END", path);
}

/* big enough for the whole log buffer of these configs */
static char logbuf[1 << 18];

static void dmesg(void)
{
	long n = sc(NR_syslog, 3 /* SYSLOG_ACTION_READ_ALL */, (long)logbuf, sizeof logbuf, 0, 0);
	sep("BEGIN", "dmesg");
	if (n > 0)
		wr(logbuf, (ulong)n);
	sep("END", "dmesg");
}

static char pathb[512], dents[32768];

/* /sys/kernel/slab or /sys/slab (SLUB): for each cache directory or alias link, a few attributes */
static const char *slab_attrs[] = {
	"object_size", "slab_size", "objs_per_slab", "order", "align", "aliases",
	"hwcache_align", "objects", "slabs", "partial", "cpu_slabs", "ctor",
	"reclaim_account", "destroy_by_rcu", "sanity_checks", "red_zone", "poison",
	"store_user", "min_partial", "cpu_partial", "objects_partial", "total_objects",
	"slabs_cpu_partial", 0
};

static void sys_slab(void)
{
	const char *dir = "/sys/kernel/slab";
	long fd = sc(NR_open, (long)dir, O_RDONLY | O_DIRECTORY, 0, 0, 0), n;
	if (fd < 0) {
		dir = "/sys/slab"; /* 2.6.24's SLUB: /sys/kernel/slab came in 2.6.25 */
		fd = sc(NR_open, (long)dir, O_RDONLY | O_DIRECTORY, 0, 0, 0);
	}
	if (fd < 0) {
		sep("ABSENT", "/sys/kernel/slab");
		return;
	}
	sep("BEGIN", dir);
	while ((n = sc(NR_getdents64, fd, (long)dents, sizeof dents, 0, 0)) > 0) {
		long off = 0;
		while (off < n) {
			char *d = dents + off;
			unsigned short reclen = *(unsigned short *)(d + 16);
			unsigned char type = *(unsigned char *)(d + 18);
			char *name = d + 19;
			off += reclen;
			if (name[0] == '.')
				continue;
			ulong l = slen(dir);
			memcpy(pathb, dir, l);
			pathb[l++] = '/';
			memcpy(pathb + l, name, slen(name) + 1);
			if (type == 10 /* DT_LNK */) {
				long r = sc(NR_readlink, (long)pathb, (long)buf, 511, 0, 0);
				puts_(name);
				puts_(" -> ");
				if (r > 0)
					wr(buf, (ulong)r);
				puts_("\n");
				continue;
			}
			puts_(name);
			puts_(":\n");
			ulong base = slen(pathb);
			for (int i = 0; slab_attrs[i]; i++) {
				pathb[base] = '/';
				memcpy(pathb + base + 1, slab_attrs[i], slen(slab_attrs[i]) + 1);
				long afd = sc(NR_open, (long)pathb, O_RDONLY, 0, 0, 0);
				if (afd < 0)
					continue;
				long r = sc(NR_read, afd, (long)buf, 4095, 0, 0);
				sc(NR_close, afd, 0, 0, 0, 0);
				puts_("  ");
				puts_(slab_attrs[i]);
				puts_(" = ");
				if (r > 0) {
					if (buf[r - 1] == '\n')
						r--;
					wr(buf, (ulong)r);
				}
				puts_("\n");
			}
			pathb[base] = 0;
		}
	}
	sc(NR_close, fd, 0, 0, 0, 0);
	sep("END", dir);
}

static void views(int full)
{
	cat("/proc/slabinfo");
	cat("/proc/buddyinfo");
	cat("/proc/pagetypeinfo");
	cat("/proc/zoneinfo");
	cat("/proc/meminfo");
	cat("/proc/vmstat");
	if (full) {
		cat("/proc/version");
		cat("/proc/cmdline");
		cat("/proc/iomem");
		cat("/proc/vmallocinfo");
		cat("/proc/sys/vm/min_free_kbytes");
		cat("/proc/sys/vm/lowmem_reserve_ratio");
		cat("/proc/sys/vm/percpu_pagelist_fraction");
		cat("/proc/sys/vm/overcommit_memory");
		cat("/proc/cpuinfo");
	}
	sys_slab();
}

static void snooze(long ms)
{
	long ts[2] = { ms / 1000, (ms % 1000) * 1000000 };
	sc(NR_nanosleep, (long)ts, 0, 0, 0, 0);
}

/* Reap up to n children, polling with WNOHANG for at most ms milliseconds
 * (a blocking wait4 in pid 1 hung on 2.6.11 under QEMU; polling does not).
 * Returns how many were reaped; *status is the last one's status. */
static long reap(long n, long ms, int *status)
{
	long reaped = 0, waited = 0, r;
	while (reaped < n && waited <= ms) {
		r = sc(NR_wait4, -1, (long)status, 1 /* WNOHANG */, 0, 0);
		if (r > 0)
			reaped++;
		else if (r == 0) {
			snooze(20);
			waited += 20;
		} else
			break;
	}
	return reaped;
}

static void writefile(const char *path, ulong bytes)
{
	long fd = sc(NR_open, (long)path, O_WRONLY | O_CREAT | O_TRUNC, 0644, 0, 0);
	if (fd < 0)
		return;
	memset(buf, 'k', sizeof buf);
	while (bytes) {
		ulong n = bytes < sizeof buf ? bytes : sizeof buf;
		sc(NR_write, fd, (long)buf, (long)n, 0, 0);
		bytes -= n;
	}
	sc(NR_close, fd, 0, 0, 0, 0);
}

static void setsysctl(const char *path, const char *val)
{
	long fd = sc(NR_open, (long)path, O_WRONLY, 0, 0, 0);
	if (fd >= 0) {
		sc(NR_write, fd, (long)val, (long)slen(val), 0, 0);
		sc(NR_close, fd, 0, 0, 0, 0);
	}
}

#define NCHILD 8

static void workload(void)
{
	int gate[2], status;
	long i;
	char name[16];

	puts_("\n==== WORKLOAD fork ");
	putnum(NCHILD);
	puts_(" children blocked on a pipe; 32 files of 4 KiB and one of 256 KiB in /tmp; 64 KiB through a pipe ====\n");
	if (sc(NR_pipe, (long)gate, 0, 0, 0, 0) < 0)
		return;
	for (i = 0; i < NCHILD; i++) {
		long pid = sc(NR_fork, 0, 0, 0, 0, 0);
		if (pid == 0) {
			char c;
			sc(NR_close, gate[1], 0, 0, 0, 0);
			sc(NR_read, gate[0], (long)&c, 1, 0, 0); /* blocks until the parent closes */
			sc(NR_exit, 0, 0, 0, 0, 0);
		}
	}
	sc(NR_mkdir, (long)"/tmp", 0755, 0, 0, 0);
	for (i = 0; i < 32; i++) {
		memcpy(name, "/tmp/f00", 9);
		name[6] = (char)('0' + i / 10);
		name[7] = (char)('0' + i % 10);
		writefile(name, 4096);
	}
	writefile("/tmp/big", 256 * 1024);
	{
		int p[2];
		if (sc(NR_pipe, (long)p, 0, 0, 0, 0) == 0) {
			long pid = sc(NR_fork, 0, 0, 0, 0, 0);
			if (pid == 0) {
				long got = 0, r;
				sc(NR_close, p[1], 0, 0, 0, 0);
				while ((r = sc(NR_read, p[0], (long)buf, 4096, 0, 0)) > 0)
					got += r;
				sc(NR_exit, got == 65536 ? 0 : 1, 0, 0, 0, 0);
			}
			sc(NR_close, p[0], 0, 0, 0, 0);
			memset(buf, 'p', 4096);
			for (i = 0; i < 16; i++)
				sc(NR_write, p[1], (long)buf, 4096, 0, 0);
			sc(NR_close, p[1], 0, 0, 0, 0);
			reap(1, 10000, &status);
		}
	}
	snooze(200);
	phase = "busy";
	cat("/proc/slabinfo");
	cat("/proc/buddyinfo");
	cat("/proc/meminfo");
	sys_slab();
	sc(NR_close, gate[1], 0, 0, 0, 0);
	sc(NR_close, gate[0], 0, 0, 0, 0);
	puts_("\n==== WORKLOAD reaped ");
	putnum(reap(NCHILD, 10000, &status));
	puts_(" of ");
	putnum(NCHILD);
	puts_(" children ====\n");
	snooze(200);
}

static void oom(void)
{
	int status;
	puts_("\n==== WORKLOAD oom: vm.overcommit_memory=1, one child touches anonymous memory (brk) until the OOM killer ends it ====\n");
	setsysctl("/proc/sys/vm/overcommit_memory", "1\n");
	long pid = sc(NR_fork, 0, 0, 0, 0, 0);
	if (pid == 0) {
		ulong cur = (ulong)sc(NR_brk, 0, 0, 0, 0, 0);
		for (;;) {
			ulong next = cur + (1UL << 20);
			if ((ulong)sc(NR_brk, (long)next, 0, 0, 0, 0) != next)
				break;
			for (ulong a = cur; a < next; a += 4096)
				*(volatile char *)a = 1;
			cur = next;
		}
		puts_("==== oom child: brk refused ====\n");
		sc(NR_exit, 0, 0, 0, 0, 0);
	}
	status = 0;
	if (reap(1, 600000, &status) == 1) {
		puts_("==== oom child status ");
		putnum(status);
		puts_(" ====\n");
	} else
		puts_("==== oom child not reaped after 600 s ====\n");
	snooze(200);
}

/* MemFree of /proc/meminfo in kB, or -1 */
static long memfree_kb(void)
{
	static char mi[4096];
	long fd = sc(NR_open, (long)"/proc/meminfo", O_RDONLY, 0, 0, 0), n, v = -1;
	if (fd < 0)
		return -1;
	n = sc(NR_read, fd, (long)mi, sizeof mi - 1, 0, 0);
	sc(NR_close, fd, 0, 0, 0, 0);
	if (n <= 0)
		return -1;
	mi[n] = 0;
	for (char *p = mi; *p; p++) {
		if (p[0] == 'M' && p[1] == 'e' && p[2] == 'm' && p[3] == 'F' && p[4] == 'r' &&
		    p[5] == 'e' && p[6] == 'e' && p[7] == ':') {
			p += 8;
			while (*p == ' ')
				p++;
			v = 0;
			while (*p >= '0' && *p <= '9')
				v = v * 10 + (*p++ - '0');
			break;
		}
	}
	return v;
}

/* fd_set for select() over PAFAIL_NFDS descriptors, all zero */
#define PAFAIL_NFDS 1000001
static unsigned long fdset_buf[(PAFAIL_NFDS + 8 * sizeof(long) - 1) / (8 * sizeof(long))];

/*
 * "pafail=1": a high-order kmalloc that fails.  init raises RLIMIT_NOFILE and
 * dup2()s to fd 1000000 (the fd table grows to 1M entries, by vmalloc); a child
 * then touches anonymous memory until MemFree is below PAFAIL_KB and holds it;
 * init calls select() over 1000001 descriptors, for which the kernel kmallocs
 * 6 bitmaps of 125001 bytes (about 732 KiB, an order-8 page block), below every
 * zone's watermark: "page allocation failure" and select() returns -ENOMEM.
 */
#define PAFAIL_KB 3072

static void pafail(void)
{
	int ready[2], hold[2], status;
	long lim[2] = { 1048576, 1048576 }, r, pid;
	char c;

	puts_("\n==== WORKLOAD pafail: fd 1000000, a child holds memory until MemFree < ");
	putnum(PAFAIL_KB);
	puts_(" kB, then select() over 1000001 fds ====\n");
	r = sc(NR_setrlimit, 7 /* RLIMIT_NOFILE */, (long)lim, 0, 0, 0);
	puts_("==== pafail setrlimit ");
	putnum(r);
	r = sc(NR_dup2, 0, PAFAIL_NFDS - 1, 0, 0, 0);
	puts_(", dup2 ");
	putnum(r);
	puts_(" ====\n");
	if (r < 0)
		return;
	setsysctl("/proc/sys/vm/overcommit_memory", "1\n");
	if (sc(NR_pipe, (long)ready, 0, 0, 0, 0) < 0 || sc(NR_pipe, (long)hold, 0, 0, 0, 0) < 0)
		return;
	pid = sc(NR_fork, 0, 0, 0, 0, 0);
	if (pid == 0) {
		ulong cur = (ulong)sc(NR_brk, 0, 0, 0, 0, 0);
		sc(NR_close, ready[0], 0, 0, 0, 0);
		sc(NR_close, hold[1], 0, 0, 0, 0);
		for (;;) {
			long f = memfree_kb();
			if (f >= 0 && f < PAFAIL_KB)
				break;
			ulong next = cur + (256UL << 10);
			if ((ulong)sc(NR_brk, (long)next, 0, 0, 0, 0) != next)
				break;
			for (ulong a = cur; a < next; a += 4096)
				*(volatile char *)a = 1;
			cur = next;
		}
		sc(NR_write, ready[1], (long)"r", 1, 0, 0);
		sc(NR_read, hold[0], (long)&c, 1, 0, 0);
		sc(NR_exit, 0, 0, 0, 0, 0);
	}
	sc(NR_close, ready[1], 0, 0, 0, 0);
	sc(NR_close, hold[0], 0, 0, 0, 0);
	r = sc(NR_read, ready[0], (long)&c, 1, 0, 0);
	phase = "held";
	cat("/proc/buddyinfo");
	cat("/proc/meminfo");
	cat("/proc/zoneinfo");
	{
		long tv[2] = { 0, 0 };
		r = sc(NR_select, PAFAIL_NFDS, (long)fdset_buf, 0, 0, (long)tv);
	}
	puts_("\n==== pafail select returned ");
	putnum(r);
	puts_(" ====\n");
	sc(NR_close, hold[1], 0, 0, 0, 0);
	sc(NR_close, ready[0], 0, 0, 0, 0);
	status = 0;
	puts_("==== pafail reaped ");
	putnum(reap(1, 60000, &status));
	puts_(" child ====\n");
	sc(NR_close, PAFAIL_NFDS - 1, 0, 0, 0, 0);
	snooze(200);
}

void cmain(long *sp)
{
	long argc = sp[0];
	char **envp = (char **)(sp + argc + 2);
	int want_oom = 0, want_pafail = 0;

	for (char **e = envp; *e; e++) {
		if (seq(*e, "oom=1"))
			want_oom = 1;
		if (seq(*e, "pafail=1"))
			want_pafail = 1;
	}

	/* keep later kernel messages off the console; they stay in the log */
	sc(NR_syslog, 8 /* SYSLOG_ACTION_CONSOLE_LEVEL */, 0, 1, 0, 0);
	sc(NR_mkdir, (long)"/proc", 0555, 0, 0, 0);
	sc(NR_mkdir, (long)"/sys", 0555, 0, 0, 0);
	long mp = sc(NR_mount, (long)"proc", (long)"/proc", (long)"proc", 0, 0);
	long ms = sc(NR_mount, (long)"sysfs", (long)"/sys", (long)"sysfs", 0, 0);

	puts_("\n==== KMEMSIM CAPTURE START ====\n");
	puts_("==== mount proc ");
	putnum(mp);
	puts_(", mount sysfs ");
	putnum(ms);
	puts_(" ====\n");
	phase = "boot";
	views(1);
	dmesg();

	workload();
	phase = "after";
	views(0);

	if (want_pafail) {
		pafail();
		phase = "pafail";
		cat("/proc/slabinfo");
		cat("/proc/buddyinfo");
	}

	if (want_oom) {
		oom();
		phase = "oom";
		cat("/proc/slabinfo");
		cat("/proc/buddyinfo");
		cat("/proc/meminfo");
		cat("/proc/vmstat");
	}

	phase = "final";
	dmesg();
	puts_("\n==== KMEMSIM CAPTURE END ====\n");
	sc(NR_sync, 0, 0, 0, 0, 0);
	/* LINUX_REBOOT_CMD_RESTART: QEMU's -no-reboot turns the reset into an exit
	 * (an allnoconfig kernel without ACPI/APM cannot power off) */
	sc(NR_reboot, 0xfee1dead, 672274793, 0x01234567, 0, 0);
	for (;;)
		snooze(1000);
}
