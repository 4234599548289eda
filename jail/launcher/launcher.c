/*
 * lkv-jail launcher: the init step between the Go supervisor's fork and the
 * lambda's exec. It is a static x86-64 program without libc (raw system
 * calls only) so that it costs one small exec (about 0.1 ms).
 *
 * The supervisor starts it with PTRACE_TRACEME, so it is stopped at its own
 * exec until the tracer has set its options; only then does any of the code
 * below run. It reads its instructions from fd 3 (a pipe the supervisor has
 * already filled and closed), applies them to itself, and execs the lambda
 * through an inherited fd, passing its own argv and envp through unchanged.
 * See ../config.go (launcherConfig) for the layout of the instructions; both
 * sides must change together (LKV_VERSION).
 *
 * Steps, in order (each failure writes one line to fd 2 and exits 125):
 *   1. read the configuration from fd 3;
 *   2. setns into the prepared empty network namespace (root only);
 *   3. drop to the per-run uid/gid with no supplementary groups (root only);
 *   4. PR_SET_PDEATHSIG = SIGKILL again (a uid change clears it);
 *   5. setrlimit with soft = hard for each limit;
 *   6. PR_SET_NO_NEW_PRIVS;
 *   7. Landlock: create the ruleset, add the path rules, restrict self;
 *   8. patch the filter's own-pid placeholder with getpid();
 *   9. mark every fd >= 3 close-on-exec;
 *  10. install the seccomp filter;
 *  11. execveat(lambda fd, "", argv, envp, AT_EMPTY_PATH).
 *
 * Build: ./build.sh (gcc -nostdlib -static -Os ...). The output is committed
 * as launcher.bin and embedded by the Go package.
 */

typedef unsigned long u64;
typedef long s64;
typedef unsigned int u32;
typedef int s32;
typedef unsigned short u16;
typedef unsigned char u8;

#define LKV_MAGIC 0x4a564b4cU /* "LKVJ" little-endian */
#define LKV_VERSION 1U

#define F_SETUID 1U
#define F_NETNS 2U
#define F_LANDLOCK 4U
#define F_PDEATHSIG 8U
#define F_SECCOMP 16U

#define NR_read 0
#define NR_write 1
#define NR_close 3
#define NR_getpid 39
#define NR_exit_group 231
#define NR_prctl 157
#define NR_setgroups 116
#define NR_setresuid 117
#define NR_setresgid 119
#define NR_prlimit64 302
#define NR_setns 308
#define NR_seccomp 317
#define NR_execveat 322
#define NR_close_range 436
#define NR_landlock_create_ruleset 444
#define NR_landlock_add_rule 445
#define NR_landlock_restrict_self 446

#define EINTR 4
#define EBADF 9
#define CLONE_NEWNET 0x40000000
#define PR_SET_PDEATHSIG 1
#define PR_SET_NO_NEW_PRIVS 38
#define SIGKILL 9
#define SECCOMP_SET_MODE_FILTER 1
#define AT_EMPTY_PATH 0x1000
#define CLOSE_RANGE_CLOEXEC 4
#define LANDLOCK_RULE_PATH_BENEATH 1
#define BPF_JMP_JEQ_K 0x15

#define CONFIG_FD 3
#define MAX_CONFIG 65536
#define MAX_RLIMITS 16
#define MAX_RULES 16
#define MAX_FILTER 4096

struct hdr {
	u32 magic, version, flags, uid, gid;
	s32 netns_fd, bin_fd;
	u32 nrlimits, nrules, nfilter;
	u32 ll_attr_size; /* size of the landlock_ruleset_attr to pass */
	u32 pid_magic;
	u64 ll_fs, ll_net, ll_scoped;
};
struct rlim_ent { u32 resource, pad; u64 value; };
struct rule_ent { s32 fd; u32 pad; u64 access; };
struct sock_filter { u16 code; u8 jt, jf; u32 k; };
struct sock_fprog { u16 len; struct sock_filter *filter; };
struct ll_ruleset_attr { u64 fs, net, scoped; };
struct ll_path_beneath { u64 access; s32 fd; } __attribute__((packed));

static u64 cfgbuf[MAX_CONFIG / 8];

static inline s64 sys6(s64 n, s64 a, s64 b, s64 c, s64 d, s64 e, s64 f)
{
	s64 ret;
	register s64 r10 __asm__("r10") = d;
	register s64 r8 __asm__("r8") = e;
	register s64 r9 __asm__("r9") = f;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}
#define sys1(n, a) sys6(n, (s64)(a), 0, 0, 0, 0, 0)
#define sys2(n, a, b) sys6(n, (s64)(a), (s64)(b), 0, 0, 0, 0)
#define sys3(n, a, b, c) sys6(n, (s64)(a), (s64)(b), (s64)(c), 0, 0, 0)
#define sys4(n, a, b, c, d) sys6(n, (s64)(a), (s64)(b), (s64)(c), (s64)(d), 0, 0)
#define sys5(n, a, b, c, d, e) sys6(n, (s64)(a), (s64)(b), (s64)(c), (s64)(d), (s64)(e), 0)

static u64 slen(const char *s)
{
	u64 n = 0;
	while (s[n])
		n++;
	return n;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static void put(const char *s) { sys3(NR_write, 2, s, slen(s)); }

/* die reports the failed step and its errno, then exits 125. */
static __attribute__((noreturn)) void die(const char *step, s64 err)
{
	char num[24];
	int i = sizeof(num);
	u64 e = (u64)(-err);
	num[--i] = 0;
	do {
		num[--i] = (char)('0' + e % 10);
		e /= 10;
	} while (e && i > 0);
	put("lkv-launcher: ");
	put(step);
	put(" failed: errno ");
	put(num + i);
	put("\n");
	for (;;)
		sys1(NR_exit_group, 125);
}

static u64 readconfig(void)
{
	u8 *p = (u8 *)cfgbuf;
	u64 n = 0;
	for (;;) {
		s64 r = sys3(NR_read, CONFIG_FD, p + n, sizeof(cfgbuf) - n);
		if (r == -EINTR)
			continue;
		if (r < 0)
			die("read config", r);
		if (r == 0)
			return n;
		n += (u64)r;
		if (n == sizeof(cfgbuf))
			die("read config (too large)", -7);
	}
}

static void landlock(const struct hdr *h, const struct rule_ent *rules)
{
	struct ll_ruleset_attr attr = {h->ll_fs, h->ll_net, h->ll_scoped};
	s64 rs = sys3(NR_landlock_create_ruleset, &attr, h->ll_attr_size, 0);
	if (rs < 0)
		die("landlock_create_ruleset", rs);
	for (u32 i = 0; i < h->nrules; i++) {
		struct ll_path_beneath pb = {rules[i].access, rules[i].fd};
		s64 r = sys4(NR_landlock_add_rule, rs, LANDLOCK_RULE_PATH_BENEATH, &pb, 0);
		if (r < 0)
			die("landlock_add_rule", r);
	}
	s64 r = sys2(NR_landlock_restrict_self, rs, 0);
	if (r < 0)
		die("landlock_restrict_self", r);
	sys1(NR_close, rs);
}

static void drop(const struct hdr *h)
{
	s64 r;
	if (h->flags & F_NETNS) {
		r = sys2(NR_setns, h->netns_fd, CLONE_NEWNET);
		if (r < 0)
			die("setns", r);
	}
	if (h->flags & F_SETUID) {
		if ((r = sys2(NR_setgroups, 0, 0)) < 0)
			die("setgroups", r);
		if ((r = sys3(NR_setresgid, h->gid, h->gid, h->gid)) < 0)
			die("setresgid", r);
		if ((r = sys3(NR_setresuid, h->uid, h->uid, h->uid)) < 0)
			die("setresuid", r);
	}
	if (h->flags & F_PDEATHSIG) {
		if ((r = sys2(NR_prctl, PR_SET_PDEATHSIG, SIGKILL)) < 0)
			die("prctl(PDEATHSIG)", r);
	}
}

static void limits(const struct hdr *h, const struct rlim_ent *rl)
{
	for (u32 i = 0; i < h->nrlimits; i++) {
		u64 lim[2] = {rl[i].value, rl[i].value};
		s64 r = sys4(NR_prlimit64, 0, rl[i].resource, lim, 0);
		if (r < 0)
			die("setrlimit", r);
	}
}

static void filter(const struct hdr *h, struct sock_filter *f)
{
	u32 pid = (u32)sys1(NR_getpid, 0);
	for (u32 i = 0; i < h->nfilter; i++)
		if (f[i].code == BPF_JMP_JEQ_K && f[i].k == h->pid_magic)
			f[i].k = pid;
}

static void run(char **argv, char **envp)
{
	u64 n = readconfig();
	struct hdr *h = (struct hdr *)cfgbuf;
	if (n < sizeof(*h) || h->magic != LKV_MAGIC || h->version != LKV_VERSION ||
	    h->nrlimits > MAX_RLIMITS || h->nrules > MAX_RULES || h->nfilter > MAX_FILTER ||
	    h->ll_attr_size > sizeof(struct ll_ruleset_attr))
		die("config header", -22);
	struct rlim_ent *rl = (struct rlim_ent *)(h + 1);
	struct rule_ent *rules = (struct rule_ent *)(rl + h->nrlimits);
	struct sock_filter *f = (struct sock_filter *)(rules + h->nrules);
	if ((u64)((u8 *)(f + h->nfilter) - (u8 *)cfgbuf) != n)
		die("config size", -22);

	drop(h);
	limits(h, rl);
	s64 r = sys5(NR_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
	if (r < 0)
		die("prctl(NO_NEW_PRIVS)", r);
	if (h->flags & F_LANDLOCK)
		landlock(h, rules);
	filter(h, f);
	r = sys3(NR_close_range, CONFIG_FD, ~0U, CLOSE_RANGE_CLOEXEC);
	if (r < 0)
		die("close_range", r);
	if (h->flags & F_SECCOMP) {
		struct sock_fprog prog = {(u16)h->nfilter, f};
		r = sys3(NR_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog);
		if (r < 0)
			die("seccomp", r);
	}
	r = sys5(NR_execveat, h->bin_fd, "", argv, envp, AT_EMPTY_PATH);
	die("execveat", r);
}

/*
 * selftest: when exec'd as a lambda (fd 3 closed) under the name
 * "lkv-jail-selftest" it prints "ok" and exits 0; Jail.Start uses this to
 * prove the whole pipeline works on this kernel.
 */
static int selftest(char **argv)
{
	static const char ok[] = "ok\n";
	u8 b;
	if (!argv[0] || !streq(argv[0], "lkv-jail-selftest"))
		return 0;
	if (sys3(NR_read, CONFIG_FD, &b, 0) != -EBADF)
		return 0;
	sys3(NR_write, 1, ok, 3);
	return 1;
}

__attribute__((used)) void lmain(u64 *sp)
{
	s64 argc = (s64)sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	if (argc >= 1 && selftest(argv))
		for (;;)
			sys1(NR_exit_group, 0);
	run(argv, envp);
}

__asm__(".text\n"
	".global _start\n"
	"_start:\n"
	"	xor %rbp, %rbp\n"
	"	mov %rsp, %rdi\n"
	"	and $-16, %rsp\n"
	"	call lmain\n"
	"	hlt\n");
