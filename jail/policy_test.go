//go:build linux && amd64

package jail

import (
	"testing"

	"golang.org/x/sys/unix"
)

const auditArchI386 = 0x40000003

// TestFilter_policy runs the assembled seccomp program in the BPF
// interpreter for each class of call.
func TestFilter_policy(t *testing.T) {
	prog, err := buildFilter()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d instructions", len(prog))
	eperm, enosys := retErrno|uint32(unix.EPERM), retErrno|uint32(unix.ENOSYS)
	enotty, einval := retErrno|uint32(unix.ENOTTY), retErrno|uint32(unix.EINVAL)
	call := func(nr int, args ...uint64) seccompData {
		d := seccompData{Nr: int32(nr), Arch: auditArchX8664}
		copy(d.Args[:], args)
		return d
	}
	hi := uint64(1) << 32
	tests := []struct {
		name string
		d    seccompData
		want uint32
	}{
		{"i386 arch", seccompData{Nr: 5, Arch: auditArchI386}, retKillProcess},
		{"x32 number", call(x32SyscallBit | unix.SYS_OPENAT), retKillProcess},
		{"huge number", call(0x3fffffff), retTrace},
		{"past the table", call(maxSyscall + 1), retTrace},
		{"read", call(unix.SYS_READ), retAllow},
		{"openat", call(unix.SYS_OPENAT), retAllow},
		{"exit_group", call(unix.SYS_EXIT_GROUP), retAllow},
		{"socket", call(unix.SYS_SOCKET, unix.AF_INET), retTrace},
		{"execve", call(unix.SYS_EXECVE), retTrace},
		{"ptrace", call(unix.SYS_PTRACE), retTrace},
		{"clone3", call(unix.SYS_CLONE3), enosys},
		{"io_uring_setup", call(unix.SYS_IO_URING_SETUP), enosys},
		{"memfd_create", call(unix.SYS_MEMFD_CREATE), eperm},
		{"symlink", call(unix.SYS_SYMLINKAT), eperm},
		{"clone go thread", call(unix.SYS_CLONE, cloneGoThread), retAllow},
		{"clone glibc thread", call(unix.SYS_CLONE, cloneGlibcThread), retAllow},
		{"clone thread, high bits", call(unix.SYS_CLONE, hi|cloneGoThread), retAllow},
		{"clone fork", call(unix.SYS_CLONE, uint64(unix.SIGCHLD)), retTrace},
		{"clone untraced thread", call(unix.SYS_CLONE, cloneGoThread|unix.CLONE_UNTRACED), retTrace},
		{"clone new netns thread", call(unix.SYS_CLONE, cloneGoThread|unix.CLONE_NEWNET), retTrace},
		{"fcntl F_GETFL", call(unix.SYS_FCNTL, 0, unix.F_GETFL), retAllow},
		{"fcntl F_SETLKW", call(unix.SYS_FCNTL, 0, unix.F_SETLKW), retAllow},
		{"fcntl F_DUPFD_CLOEXEC", call(unix.SYS_FCNTL, 0, unix.F_DUPFD_CLOEXEC), retAllow},
		{"fcntl F_GET_SEALS", call(unix.SYS_FCNTL, 0, unix.F_GET_SEALS), retAllow},
		{"fcntl F_SETOWN", call(unix.SYS_FCNTL, 0, unix.F_SETOWN), eperm},
		{"fcntl F_SETSIG", call(unix.SYS_FCNTL, 0, unix.F_SETSIG), eperm},
		{"fcntl F_SETLEASE", call(unix.SYS_FCNTL, 0, unix.F_SETLEASE), eperm},
		{"fcntl F_NOTIFY", call(unix.SYS_FCNTL, 0, unix.F_NOTIFY), eperm},
		{"fcntl F_OFD_SETLK", call(unix.SYS_FCNTL, 0, unix.F_OFD_SETLK), retAllow},
		{"fcntl F_GETFL, high bits", call(unix.SYS_FCNTL, 0, hi|unix.F_GETFL), retAllow},
		{"ioctl TCGETS", call(unix.SYS_IOCTL, 0, unix.TCGETS), retAllow},
		{"ioctl TIOCSTI", call(unix.SYS_IOCTL, 0, unix.TIOCSTI), enotty},
		{"ioctl TIOCSTI, high bits", call(unix.SYS_IOCTL, 0, hi|unix.TIOCSTI), enotty},
		{"kill self", call(unix.SYS_KILL, pidMagic, 9), retAllow},
		{"kill other", call(unix.SYS_KILL, 1, 9), retTrace},
		{"kill -1", call(unix.SYS_KILL, 0xffffffff, 9), retTrace},
		{"tgkill self", call(unix.SYS_TGKILL, pidMagic, 5, 23), retAllow},
		{"tgkill other", call(unix.SYS_TGKILL, 7, 7, 9), retTrace},
		{"prlimit64 self", call(unix.SYS_PRLIMIT64, 0, unix.RLIMIT_NOFILE, 0, 1), retAllow},
		{"prlimit64 other", call(unix.SYS_PRLIMIT64, 1, unix.RLIMIT_NOFILE), retTrace},
		{"prctl PR_SET_VMA", call(unix.SYS_PRCTL, unix.PR_SET_VMA), retAllow},
		{"prctl PR_SET_DUMPABLE", call(unix.SYS_PRCTL, unix.PR_SET_DUMPABLE), retTrace},
		{"arch_prctl SET_FS", call(unix.SYS_ARCH_PRCTL, 0x1002), retAllow},
		{"arch_prctl MAP_VDSO", call(unix.SYS_ARCH_PRCTL, 0x2001), einval},
		{"execveat the lambda", call(unix.SYS_EXECVEAT, binFD, 0, 0, 0, unix.AT_EMPTY_PATH), retAllow},
		{"execveat other fd", call(unix.SYS_EXECVEAT, 5, 0, 0, 0, unix.AT_EMPTY_PATH), retTrace},
		{"execveat a path", call(unix.SYS_EXECVEAT, binFD, 0, 0, 0, 0), retTrace},
	}
	for _, tt := range tests {
		got, err := evalFilter(prog, tt.d)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got != tt.want {
			t.Errorf("%s: %#x; want %#x", tt.name, got, tt.want)
		}
	}
}

// TestFilter_table checks every number of the table against the lists.
func TestFilter_table(t *testing.T) {
	prog, err := buildFilter()
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[int]uint32)
	for _, nr := range allowed {
		want[nr] = retAllow
	}
	for _, nr := range eperm {
		want[nr] = retErrno | uint32(unix.EPERM)
	}
	for _, nr := range enosys {
		want[nr] = retErrno | uint32(unix.ENOSYS)
	}
	cond := make(map[int]bool)
	for _, r := range condRules() {
		cond[r.nr] = true
	}
	for nr := 0; nr <= maxSyscall+8; nr++ {
		if cond[nr] {
			continue
		}
		w, ok := want[nr]
		if !ok {
			w = retTrace
		}
		got, err := evalFilter(prog, seccompData{Nr: int32(nr), Arch: auditArchX8664})
		if err != nil || got != w {
			t.Errorf("syscall %d (%s): %#x, %v; want %#x", nr, sysName(uint64(nr)), got, err, w)
		}
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		nr     uint64
		args   [6]uint64
		reason string
		errno  unix.Errno
	}{
		{unix.SYS_SOCKET, [6]uint64{unix.AF_INET}, "sandbox: socket denied", 0},
		{unix.SYS_PRCTL, [6]uint64{unix.PR_GET_TIMERSLACK}, "", 0},
		{unix.SYS_PRCTL, [6]uint64{1<<32 | unix.PR_GET_TIMERSLACK}, "", 0},
		{unix.SYS_PRCTL, [6]uint64{unix.PR_SET_DUMPABLE}, "", unix.EPERM},
		{unix.SYS_PRCTL, [6]uint64{unix.PR_SET_SECCOMP}, "", unix.EPERM},
		{unix.SYS_CLONE, [6]uint64{uint64(unix.SIGCHLD)}, "sandbox: fork denied", 0},
		{unix.SYS_CLONE, [6]uint64{cloneGoThread | unix.CLONE_UNTRACED}, "sandbox: clone denied", 0},
		{unix.SYS_VFORK, [6]uint64{}, "sandbox: fork denied", 0},
		{unix.SYS_EXECVEAT, [6]uint64{}, "sandbox: execve denied", 0},
		{unix.SYS_KILL, [6]uint64{1, 9}, "sandbox: kill denied", 0},
		{999, [6]uint64{}, "sandbox: syscall 999 denied", 0},
	}
	for _, tt := range tests {
		v := decide(tt.nr, tt.args)
		if v.reason != tt.reason || v.errno != tt.errno {
			t.Errorf("decide(%d, %v) = %+v; want reason %q errno %v", tt.nr, tt.args, v, tt.reason, tt.errno)
		}
	}
}

func TestLaunchConfig_encode(t *testing.T) {
	prog, _ := buildFilter()
	c := &launchConfig{flags: lfSeccomp, rlimits: []rlimitEnt{{unix.RLIMIT_CPU, 3}},
		rules: []ruleEnt{{workdirFD, 7}}, filter: encodeFilter(prog), landlock: newLandlockPolicy(7)}
	b := c.encode()
	if want := 72 + 16 + 16 + 8*len(prog); len(b) != want {
		t.Errorf("%d bytes; want %d (launcher.c struct hdr is 72 bytes)", len(b), want)
	}
	if string(b[:4]) != "LKVJ" {
		t.Errorf("magic %q", b[:4])
	}
}
