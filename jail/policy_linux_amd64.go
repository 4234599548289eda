//go:build linux && amd64

package jail

import (
	"strconv"

	"golang.org/x/sys/unix"
)

//go:generate ./mksysnames.sh

// The seccomp policy. The filter decides almost everything in the kernel:
// it allows the calls a static C or Go program needs (file I/O confined by
// Landlock, memory, threads, signals to itself, time), returns an errno
// for calls a program may probe harmlessly, and traps everything else to
// the supervisor (SECCOMP_RET_TRACE), which allows a few after looking at
// their register arguments and otherwise kills the run, naming the call
// ("sandbox: socket denied"). Arguments are compared on their low 32 bits
// only, in allow rules only.

const (
	auditArchX8664 = 0xc000003e

	// pidMagic in a JEQ instruction is replaced by the lambda's pid in
	// the launcher (which keeps its pid across the exec).
	pidMagic = 0x7ffffff5

	// binFD is the fd the launcher finds the lambda's binary on; the
	// filter allows execveat on it exactly (see childFiles).
	binFD = 4

	// Thread creation flag sets. Go's runtime (newosproc), glibc's and
	// musl's pthread_create. Anything else (a fork, CLONE_UNTRACED, new
	// namespaces, CLONE_PARENT, CLONE_PTRACE) is trapped.
	cloneGoThread    = unix.CLONE_VM | unix.CLONE_FS | unix.CLONE_FILES | unix.CLONE_SIGHAND | unix.CLONE_SYSVSEM | unix.CLONE_THREAD | unix.CLONE_SETTLS
	cloneGlibcThread = cloneGoThread | unix.CLONE_PARENT_SETTID | unix.CLONE_CHILD_CLEARTID
	cloneMuslThread  = cloneGlibcThread | unix.CLONE_DETACHED
)

// allowed are let through by the filter without looking at arguments.
var allowed = []int{
	// files (Landlock confines the paths)
	unix.SYS_READ, unix.SYS_WRITE, unix.SYS_OPEN, unix.SYS_OPENAT, unix.SYS_OPENAT2,
	unix.SYS_CREAT, unix.SYS_CLOSE, unix.SYS_CLOSE_RANGE, unix.SYS_LSEEK,
	unix.SYS_PREAD64, unix.SYS_PWRITE64, unix.SYS_READV, unix.SYS_WRITEV,
	unix.SYS_PREADV, unix.SYS_PWRITEV, unix.SYS_PREADV2, unix.SYS_PWRITEV2,
	unix.SYS_STAT, unix.SYS_FSTAT, unix.SYS_LSTAT, unix.SYS_NEWFSTATAT, unix.SYS_STATX,
	unix.SYS_STATFS, unix.SYS_FSTATFS, unix.SYS_ACCESS, unix.SYS_FACCESSAT,
	unix.SYS_FACCESSAT2, unix.SYS_READLINK, unix.SYS_READLINKAT,
	unix.SYS_GETDENTS, unix.SYS_GETDENTS64, unix.SYS_GETCWD, unix.SYS_CHDIR, unix.SYS_FCHDIR,
	unix.SYS_MKDIR, unix.SYS_MKDIRAT, unix.SYS_RMDIR, unix.SYS_UNLINK, unix.SYS_UNLINKAT,
	unix.SYS_RENAME, unix.SYS_RENAMEAT, unix.SYS_RENAMEAT2,
	unix.SYS_TRUNCATE, unix.SYS_FTRUNCATE, unix.SYS_FALLOCATE,
	unix.SYS_CHMOD, unix.SYS_FCHMOD, unix.SYS_FCHMODAT, unix.SYS_FCHMODAT2, unix.SYS_UMASK,
	unix.SYS_UTIME, unix.SYS_UTIMES, unix.SYS_FUTIMESAT, unix.SYS_UTIMENSAT,
	unix.SYS_FSYNC, unix.SYS_FDATASYNC, unix.SYS_SYNC_FILE_RANGE, unix.SYS_FADVISE64,
	unix.SYS_READAHEAD, unix.SYS_FLOCK, unix.SYS_COPY_FILE_RANGE, unix.SYS_SENDFILE,
	unix.SYS_SPLICE, unix.SYS_TEE, unix.SYS_DUP, unix.SYS_DUP2, unix.SYS_DUP3,
	unix.SYS_PIPE, unix.SYS_PIPE2,
	// polling and events
	unix.SYS_POLL, unix.SYS_PPOLL, unix.SYS_SELECT, unix.SYS_PSELECT6,
	unix.SYS_EPOLL_CREATE, unix.SYS_EPOLL_CREATE1, unix.SYS_EPOLL_CTL, unix.SYS_EPOLL_WAIT,
	unix.SYS_EPOLL_PWAIT, unix.SYS_EPOLL_PWAIT2, unix.SYS_EVENTFD, unix.SYS_EVENTFD2,
	unix.SYS_SIGNALFD, unix.SYS_SIGNALFD4, unix.SYS_TIMERFD_CREATE,
	unix.SYS_TIMERFD_SETTIME, unix.SYS_TIMERFD_GETTIME,
	// memory
	unix.SYS_BRK, unix.SYS_MMAP, unix.SYS_MUNMAP, unix.SYS_MPROTECT, unix.SYS_MREMAP,
	unix.SYS_MADVISE, unix.SYS_MSYNC, unix.SYS_MINCORE, unix.SYS_MSEAL,
	// signals (to itself: kill and tgkill are conditional below)
	unix.SYS_RT_SIGACTION, unix.SYS_RT_SIGPROCMASK, unix.SYS_RT_SIGRETURN,
	unix.SYS_RT_SIGPENDING, unix.SYS_RT_SIGTIMEDWAIT, unix.SYS_RT_SIGSUSPEND,
	unix.SYS_SIGALTSTACK, unix.SYS_PAUSE, unix.SYS_ALARM,
	unix.SYS_GETITIMER, unix.SYS_SETITIMER,
	unix.SYS_TIMER_CREATE, unix.SYS_TIMER_SETTIME, unix.SYS_TIMER_GETTIME,
	unix.SYS_TIMER_GETOVERRUN, unix.SYS_TIMER_DELETE,
	// threads and synchronisation
	unix.SYS_FUTEX, unix.SYS_FUTEX_WAITV, unix.SYS_SET_TID_ADDRESS,
	unix.SYS_SET_ROBUST_LIST, unix.SYS_GET_ROBUST_LIST, unix.SYS_RSEQ, unix.SYS_MEMBARRIER,
	unix.SYS_SCHED_YIELD, unix.SYS_SCHED_GETAFFINITY, unix.SYS_SCHED_GETPARAM,
	unix.SYS_SCHED_GETSCHEDULER, unix.SYS_SCHED_GET_PRIORITY_MAX,
	unix.SYS_SCHED_GET_PRIORITY_MIN, unix.SYS_SCHED_RR_GET_INTERVAL, unix.SYS_SCHED_GETATTR,
	unix.SYS_GETCPU, unix.SYS_RESTART_SYSCALL,
	// identity, time, resources of itself
	unix.SYS_GETPID, unix.SYS_GETTID, unix.SYS_GETPPID, unix.SYS_GETUID, unix.SYS_GETEUID,
	unix.SYS_GETGID, unix.SYS_GETEGID, unix.SYS_GETRESUID, unix.SYS_GETRESGID,
	unix.SYS_GETGROUPS, unix.SYS_GETPGRP, unix.SYS_GETPGID, unix.SYS_GETSID,
	unix.SYS_CAPGET, unix.SYS_UNAME, unix.SYS_SYSINFO, unix.SYS_GETRANDOM,
	unix.SYS_CLOCK_GETTIME, unix.SYS_CLOCK_GETRES, unix.SYS_CLOCK_NANOSLEEP,
	unix.SYS_NANOSLEEP, unix.SYS_GETTIMEOFDAY, unix.SYS_TIME, unix.SYS_TIMES,
	unix.SYS_GETRLIMIT, unix.SYS_SETRLIMIT, unix.SYS_GETRUSAGE, unix.SYS_GETPRIORITY,
	unix.SYS_WAIT4, unix.SYS_WAITID,
	// leaving
	unix.SYS_EXIT, unix.SYS_EXIT_GROUP,
}

// enosys are answered ENOSYS, as if the kernel lacked them: callers fall
// back (glibc and Go from clone3 to clone; io_uring and AIO users to
// plain I/O). clone3 cannot be allowed because BPF cannot read its flags
// in memory; io_uring and AIO would do I/O the filter never sees.
var enosys = []int{
	unix.SYS_CLONE3, unix.SYS_IO_URING_SETUP, unix.SYS_IO_URING_ENTER,
	unix.SYS_IO_URING_REGISTER, unix.SYS_IO_SETUP, unix.SYS_IO_DESTROY,
	unix.SYS_IO_SUBMIT, unix.SYS_IO_CANCEL, unix.SYS_IO_GETEVENTS, unix.SYS_IO_PGETEVENTS,
}

// eperm are refused with EPERM: harmless to refuse, and programs probe
// some of them (identity changes, scheduling, links, SysV IPC, memory
// locking, inotify, extended attributes, nested sandboxes).
var eperm = []int{
	unix.SYS_LINK, unix.SYS_LINKAT, unix.SYS_SYMLINK, unix.SYS_SYMLINKAT,
	unix.SYS_MKNOD, unix.SYS_MKNODAT, unix.SYS_CHOWN, unix.SYS_FCHOWN, unix.SYS_LCHOWN,
	unix.SYS_FCHOWNAT, unix.SYS_SETUID, unix.SYS_SETGID, unix.SYS_SETREUID,
	unix.SYS_SETREGID, unix.SYS_SETRESUID, unix.SYS_SETRESGID, unix.SYS_SETGROUPS,
	unix.SYS_SETFSUID, unix.SYS_SETFSGID, unix.SYS_CAPSET, unix.SYS_SETSID, unix.SYS_SETPGID,
	unix.SYS_SCHED_SETAFFINITY, unix.SYS_SCHED_SETSCHEDULER, unix.SYS_SCHED_SETPARAM,
	unix.SYS_SCHED_SETATTR, unix.SYS_SETPRIORITY, unix.SYS_IOPRIO_SET, unix.SYS_IOPRIO_GET,
	unix.SYS_SHMGET, unix.SYS_SHMAT, unix.SYS_SHMCTL, unix.SYS_SHMDT, unix.SYS_SEMGET,
	unix.SYS_SEMOP, unix.SYS_SEMCTL, unix.SYS_SEMTIMEDOP, unix.SYS_MSGGET, unix.SYS_MSGSND,
	unix.SYS_MSGRCV, unix.SYS_MSGCTL, unix.SYS_MQ_OPEN, unix.SYS_MQ_UNLINK,
	unix.SYS_MQ_TIMEDSEND, unix.SYS_MQ_TIMEDRECEIVE, unix.SYS_MQ_NOTIFY, unix.SYS_MQ_GETSETATTR,
	unix.SYS_MLOCK, unix.SYS_MLOCK2, unix.SYS_MUNLOCK, unix.SYS_MLOCKALL, unix.SYS_MUNLOCKALL,
	unix.SYS_MEMFD_CREATE, unix.SYS_MEMFD_SECRET, unix.SYS_INOTIFY_INIT, unix.SYS_INOTIFY_INIT1,
	unix.SYS_INOTIFY_ADD_WATCH, unix.SYS_INOTIFY_RM_WATCH, unix.SYS_SET_MEMPOLICY,
	unix.SYS_GET_MEMPOLICY, unix.SYS_MBIND, unix.SYS_SETXATTR, unix.SYS_LSETXATTR,
	unix.SYS_FSETXATTR, unix.SYS_GETXATTR, unix.SYS_LGETXATTR, unix.SYS_FGETXATTR,
	unix.SYS_LISTXATTR, unix.SYS_LLISTXATTR, unix.SYS_FLISTXATTR, unix.SYS_REMOVEXATTR,
	unix.SYS_LREMOVEXATTR, unix.SYS_FREMOVEXATTR, unix.SYS_LANDLOCK_CREATE_RULESET,
	unix.SYS_LANDLOCK_ADD_RULE, unix.SYS_LANDLOCK_RESTRICT_SELF, unix.SYS_SYNC, unix.SYS_SYNCFS,
	unix.SYS_PERSONALITY, unix.SYS_USTAT, unix.SYS_VHANGUP, unix.SYS_ACCT,
}

// condRule is a syscall allowed only when its arguments match.
type condRule struct {
	nr        int
	conds     []argCond
	otherwise uint32 // when they do not match
}

// condRules are syscalls allowed only with some argument values.
func condRules() []condRule {
	return []condRule{
		{unix.SYS_CLONE, []argCond{vals(0, cloneGoThread, cloneGlibcThread, cloneMuslThread)}, retTrace},
		{unix.SYS_FCNTL, []argCond{{1, []argRange{
			{unix.F_DUPFD, unix.F_SETLKW + 1}, // F_DUPFD .. F_SETLKW; not F_SETOWN, F_SETSIG
			{unix.F_OFD_GETLK, unix.F_OFD_SETLKW + 1},
			{unix.F_DUPFD_CLOEXEC, unix.F_GET_SEALS + 1}, // also pipe sizes, seals; not leases, F_NOTIFY
		}}}, retErrno | uint32(unix.EPERM)},
		{unix.SYS_IOCTL, []argCond{vals(1, unix.TCGETS, unix.TIOCGWINSZ, unix.TIOCINQ,
			0x5421, 0x5451, 0x5450, // FIONBIO, FIOCLEX, FIONCLEX
		)}, retErrno | uint32(unix.ENOTTY)},
		{unix.SYS_KILL, []argCond{vals(0, pidMagic)}, retTrace},
		{unix.SYS_TGKILL, []argCond{vals(0, pidMagic)}, retTrace},
		{unix.SYS_PRLIMIT64, []argCond{vals(0, 0, pidMagic)}, retTrace},
		{unix.SYS_PRCTL, []argCond{vals(0, unix.PR_SET_NAME, unix.PR_GET_NAME, unix.PR_SET_VMA)}, retTrace},
		{unix.SYS_ARCH_PRCTL, []argCond{{0, []argRange{
			{0x1001, 0x1005}, // ARCH_SET_GS, SET_FS, GET_FS, GET_GS
			{0x1011, 0x1012}, // ARCH_GET_CPUID
			{0x1021, 0x1024}, // ARCH_GET_XCOMP_SUPP, GET_XCOMP_PERM, REQ_XCOMP_PERM
			{0x3001, 0x3002}, // ARCH_CET_STATUS
			{0x5001, 0x5006}, // ARCH_SHSTK_*
		}}}, retErrno | uint32(unix.EINVAL)},
		// The launcher's exec of the lambda; any other exec is trapped.
		{unix.SYS_EXECVEAT, []argCond{vals(0, binFD), vals(4, unix.AT_EMPTY_PATH)}, retTrace},
	}
}

// maxSyscall bounds the table; numbers above it are trapped (and the
// supervisor kills the run naming the number).
const maxSyscall = 1023

// buildFilter assembles the policy into a seccomp program. Everything not
// listed is trapped to the supervisor.
func buildFilter() ([]sockFilter, error) {
	actions := make([]uint32, maxSyscall+1)
	for i := range actions {
		actions[i] = retTrace
	}
	set := func(nrs []int, a uint32) {
		for _, nr := range nrs {
			actions[nr] = a
		}
	}
	set(allowed, retAllow)
	set(eperm, retErrno|uint32(unix.EPERM))
	set(enosys, retErrno|uint32(unix.ENOSYS))
	conds := make(map[int]condRule)
	for _, r := range condRules() {
		conds[r.nr] = r
	}
	var spans []span
	for nr, a := range actions {
		if r, ok := conds[nr]; ok {
			spans = append(spans, span{lo: nr, action: r.otherwise, conds: r.conds, ok: retAllow})
			continue
		}
		if n := len(spans); n > 0 && spans[n-1].conds == nil && spans[n-1].action == a {
			continue // extends the previous span
		}
		spans = append(spans, span{lo: nr, action: a})
	}
	spans = append(spans, span{lo: maxSyscall + 1, action: retTrace})
	return assemble(auditArchX8664, spans)
}

// verdict is the supervisor's answer to a trapped syscall.
type verdict struct {
	errno  unix.Errno // allow when 0 and reason is empty
	reason string     // kill the run with this reason when non-empty
}

// prctlReadOnly are prctl options the supervisor lets through: they only
// read the caller's own state.
var prctlReadOnly = map[uint64]bool{
	unix.PR_GET_PDEATHSIG: true, unix.PR_GET_DUMPABLE: true, unix.PR_GET_KEEPCAPS: true,
	unix.PR_GET_TIMERSLACK: true, unix.PR_GET_NO_NEW_PRIVS: true, unix.PR_GET_SECCOMP: true,
	unix.PR_CAPBSET_READ: true, unix.PR_GET_CHILD_SUBREAPER: true, unix.PR_GET_THP_DISABLE: true,
	unix.PR_GET_TIMING: true, unix.PR_GET_ENDIAN: true, unix.PR_GET_FPEMU: true,
	unix.PR_GET_FPEXC: true, unix.PR_GET_TSC: true, unix.PR_GET_SECUREBITS: true,
	unix.PR_MCE_KILL_GET: true, unix.PR_GET_SPECULATION_CTRL: true,
}

// decide judges a trapped syscall from its number and register arguments
// only, never from the tracee's memory (another thread could change it
// after the check).
func decide(nr uint64, args [6]uint64) verdict {
	switch nr {
	case unix.SYS_PRCTL:
		if prctlReadOnly[args[0]&0xffffffff] {
			return verdict{}
		}
		return verdict{errno: unix.EPERM}
	case unix.SYS_CLONE:
		if args[0]&unix.CLONE_THREAD == 0 {
			return verdict{reason: "sandbox: fork denied"}
		}
		return verdict{reason: "sandbox: clone denied"}
	case unix.SYS_FORK, unix.SYS_VFORK:
		return verdict{reason: "sandbox: fork denied"}
	case unix.SYS_EXECVE, unix.SYS_EXECVEAT:
		return verdict{reason: "sandbox: execve denied"}
	}
	return verdict{reason: "sandbox: " + sysName(nr) + " denied"}
}

// sysName returns the name of syscall nr.
func sysName(nr uint64) string {
	if n, ok := sysNames[int(nr)]; ok && nr < 1<<20 {
		return n
	}
	return "syscall " + strconv.FormatUint(nr, 10)
}
