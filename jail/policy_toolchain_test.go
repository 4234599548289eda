//go:build linux && amd64

package jail

import (
	"testing"

	"golang.org/x/sys/unix"
)

// TestFilter_goToolchain checks that every call the Go toolchain's
// compile, asm, link, pack and buildid make (strace of each, run as a
// node runs them) passes the filter in the kernel: none is trapped, so a
// build pays no supervisor round trip per call. File-backed MAP_SHARED
// mappings (compile and link map their inputs, link its output) are
// plain mmap, which Landlock confines to the working directory.
func TestFilter_goToolchain(t *testing.T) {
	prog, err := buildFilter()
	if err != nil {
		t.Fatal(err)
	}
	calls := []struct {
		name string
		nr   int
		args []uint64
	}{
		{"arch_prctl SET_FS", unix.SYS_ARCH_PRCTL, []uint64{0x1002}},
		{"clone thread", unix.SYS_CLONE, []uint64{cloneGoThread}},
		{"close", unix.SYS_CLOSE, nil},
		{"copy_file_range (pack)", unix.SYS_COPY_FILE_RANGE, nil},
		{"epoll_create1", unix.SYS_EPOLL_CREATE1, nil},
		{"epoll_ctl", unix.SYS_EPOLL_CTL, nil},
		{"epoll_pwait", unix.SYS_EPOLL_PWAIT, nil},
		{"eventfd2", unix.SYS_EVENTFD2, nil},
		{"exit_group", unix.SYS_EXIT_GROUP, nil},
		{"fallocate (link)", unix.SYS_FALLOCATE, nil},
		{"fcntl F_GETFL", unix.SYS_FCNTL, []uint64{3, unix.F_GETFL}},
		{"fcntl F_SETFL", unix.SYS_FCNTL, []uint64{3, unix.F_SETFL}},
		{"fstat", unix.SYS_FSTAT, nil},
		{"ftruncate (link)", unix.SYS_FTRUNCATE, nil},
		{"futex", unix.SYS_FUTEX, nil},
		{"getcwd", unix.SYS_GETCWD, nil},
		{"getpid", unix.SYS_GETPID, nil},
		{"gettid", unix.SYS_GETTID, nil},
		{"lseek", unix.SYS_LSEEK, nil},
		{"madvise", unix.SYS_MADVISE, nil},
		{"mmap shared file", unix.SYS_MMAP, []uint64{0, 1 << 20, unix.PROT_READ | unix.PROT_WRITE, unix.MAP_SHARED, 3, 0}},
		{"munmap", unix.SYS_MUNMAP, nil},
		{"nanosleep", unix.SYS_NANOSLEEP, nil},
		{"newfstatat", unix.SYS_NEWFSTATAT, nil},
		{"openat", unix.SYS_OPENAT, nil},
		{"prctl PR_SET_VMA", unix.SYS_PRCTL, []uint64{unix.PR_SET_VMA}},
		{"pread64", unix.SYS_PREAD64, nil},
		{"prlimit64 RLIMIT_NOFILE", unix.SYS_PRLIMIT64, []uint64{0, unix.RLIMIT_NOFILE, 0, 1}},
		{"pwrite64 (buildid)", unix.SYS_PWRITE64, nil},
		{"read", unix.SYS_READ, nil},
		{"rt_sigaction", unix.SYS_RT_SIGACTION, nil},
		{"rt_sigprocmask", unix.SYS_RT_SIGPROCMASK, nil},
		{"rt_sigreturn", unix.SYS_RT_SIGRETURN, nil},
		{"sched_getaffinity", unix.SYS_SCHED_GETAFFINITY, nil},
		{"sched_yield", unix.SYS_SCHED_YIELD, nil},
		{"sigaltstack", unix.SYS_SIGALTSTACK, nil},
		{"tgkill own thread (SIGURG)", unix.SYS_TGKILL, []uint64{pidMagic, 5, uint64(unix.SIGURG)}},
		{"uname (pack)", unix.SYS_UNAME, nil},
		{"unlinkat (link)", unix.SYS_UNLINKAT, nil},
		{"write", unix.SYS_WRITE, nil},
	}
	for _, c := range calls {
		d := seccompData{Nr: int32(c.nr), Arch: auditArchX8664}
		copy(d.Args[:], c.args)
		got, err := evalFilter(prog, d)
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if got != retAllow {
			t.Errorf("%s: %#x; want allowed in the kernel (%#x)", c.name, got, retAllow)
		}
	}
}
