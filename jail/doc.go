// Package jail runs untrusted static x86-64 executables ("lambdas") in a
// sandbox on Linux: a seccomp-BPF allow-list, a ptrace supervisor,
// Landlock, rlimits and, as root, a per-run uid, an empty network
// namespace and a cgroup. It is a leaf: it knows nothing of peers, keys or
// msgpack; the node hands it bytes and gets bytes back.
//
// # Basics
//
//	j, err := jail.New(jail.DefaultConfig())
//	err = j.Start(ctx)                      // probes the kernel, logs what is enforced
//	b, err := j.LoadBinary("key@42", data)  // validates and caches the executable
//	res, err := j.Run(ctx, b, &jail.Spec{Args: args, Stdin: in,
//		Files: []jail.File{{Name: "in.txt", Data: dep}}, Outputs: []string{"out.txt"}})
//	var ke *jail.KillError // errors.As(err, &ke): "sandbox: socket denied", "memory limit", "timeout 30s", ...
//	err = j.Shutdown(ctx)                   // kills what runs, waits, removes all state
//
// Run returns a Result when the lambda exited by itself (any exit code;
// 128+n when it died of a signal it raised itself) and a *KillError when
// the jail killed it. Either way, every process of the run and its working
// directory are gone when Run returns. Limits come from Spec.Limits, then
// Config.Defaults, capped by Config.Max.
//
// A run, step by step:
//
//  1. The node writes the Spec's files into a fresh working directory (as
//     root: on a private tmpfs, owned by the run's uid, the files read-only
//     and owned by root; never links) and opens four pipes.
//  2. A worker thread (a goroutine locked to its own OS thread for life)
//     forks the launcher, a 9 KB static program written without libc
//     (launcher/launcher.c, committed as launcher/launcher.bin and embedded).
//  3. The worker attaches with PTRACE_SEIZE (EXITKILL, TRACESECCOMP,
//     TRACECLONE/FORK/VFORK/EXEC, TRACESYSGOOD) and only then lets the
//     launcher read its instructions to EOF. The launcher joins the empty
//     network namespace, drops to the run's uid and gid, re-arms
//     PDEATHSIG, sets the rlimits (soft = hard), PR_SET_NO_NEW_PRIVS,
//     Landlock (read/write beneath the working directory, execute only
//     the lambda file, no TCP, abstract-socket and signal scoping), marks
//     every fd >= 3 close-on-exec, loads the seccomp filter and execs the
//     lambda from an fd.
//  4. The worker sees the exec and continues with PTRACE_CONT only: the
//     filter lets common calls through in the kernel and traps the rest
//     (SECCOMP_RET_TRACE). At a trap the worker reads the call with
//     PTRACE_GET_SYSCALL_INFO (checking op and arch), decides from the
//     registers alone, and allows it, fails it with an errno, or kills the
//     run naming the call. A second exec, a fork, too many threads, an
//     unexpected stop or a failed ptrace request kills the run (fail
//     closed). Genuine signals are delivered; stop signals are not.
//  5. The caller's goroutine reads stdout (killing on overflow) and
//     stderr (64 KiB kept), enforces the wall-clock limit and ctx, and
//     after the leader is reaped reads the Outputs back with openat2
//     (RESOLVE_BENEATH | NO_SYMLINKS, regular files with one link, size
//     capped) and removes the directory.
//
// The filter (policy_linux_amd64.go) kills any architecture but x86-64
// and any x32 number outright (int 0x80, i386 and x32 calls never reach
// the kernel's table), allows clone only with the exact thread flag sets
// of Go, glibc and musl (so never CLONE_UNTRACED or namespaces), kill and
// tgkill only on the lambda's own pid, prlimit64 only on itself, fcntl,
// ioctl and arch_prctl only with harmless commands (compared on their low
// 32 bits, which is all the kernel reads), returns ENOSYS for clone3,
// io_uring and AIO, EPERM for calls programs probe (links, chown, set*id,
// SysV IPC, memfd, mlock, xattrs, ...), and traps everything else: the
// supervisor kills with "sandbox: <call> denied" (socket, ptrace, mount,
// bpf, unshare, setns, keyctl, perf_event_open, userfaultfd, kexec,
// modules, fork, execve, ...), answers EPERM to prctl options that change
// state, and lets prctl options that only read through (the trapped-and-
// allowed case that BenchmarkJail_TrappedSyscall times). Paths are never
// read from the lambda's memory: Landlock checks them in the kernel, so a
// thread swapping a path under an open cannot win.
//
// # Design decisions and measurements
//
// Figures from this machine (2 vCPU VM, kernel 6.18, Go 1.26), medians,
// measured side by side with BenchmarkJail_VsBare; see the package's
// benchmarks for the exact commands.
//
//   - Launcher: Go cannot run code between fork and exec, so the child
//     must exec something that confines itself. Re-executing the Go node
//     binary costs about 1 ms; the no-libc launcher costs about 0.1 ms.
//     It is reproducible (TestLauncher_reproducible rebuilds it with gcc
//     and compares).
//   - Supervisor in-process, not a separate process: each worker is a
//     locked OS thread that never runs anything else, so
//     wait4(-1, __WALL|__WNOTHREAD) on it sees only its own run and never
//     reaps a child of the node; PTRACE_O_EXITKILL and PDEATHSIG tie the
//     run's life to that thread. A separate supervisor would add an IPC
//     round trip and fd passing per run and needs a hidden mode in the node
//     binary; its other benefits (a different getppid, an undumpable
//     tracer) matter little when the lambda runs under another uid and
//     cannot ptrace, signal or open /proc. Workers are pooled: a new
//     thread (and, with cgroup v1, joining a cgroup) costs more than a run.
//   - CPU pinning (Config.SpreadCPUs false): each worker and its lambdas
//     share one CPU. A ptrace stop then needs no cross-CPU wake-up: a
//     trivial Go lambda (about seven stops as its runtime starts threads)
//     went from 1.53x to 1.25-1.30x a bare fork+exec+wait. Trapped
//     syscalls cost about 9 µs each either way.
//   - PTRACE_SEIZE instead of PTRACE_TRACEME saves the stop at the
//     launcher's own exec; the launcher cannot act before the tracer closes
//     its configuration pipe.
//   - Seccomp program: loading it costs the launcher about 0.2 µs per
//     instruction (the kernel converts and JIT-compiles it per process). A
//     linear list of ~600 instructions cost 300 µs; the binary search over
//     syscall ranges with shared return instructions is ~210 instructions
//     (about 50 µs), and keeps the kernel's per-syscall verdict cache
//     (unconditional allows never run the filter) cheap to compute.
//   - Network: one empty network namespace made at Start and joined with
//     setns (about 3 µs) instead of CLONE_NEWNET per run (+330 µs per run,
//     plus asynchronous teardown work in the kernel).
//   - Cgroups: moving a process into a v1 memory cgroup costs about 0.6 ms,
//     so with v1 each worker thread joins its own cgroup slot once and the
//     launchers it forks are born in it. Memory is charged to an address
//     space's owner (the node's main thread), so the node is not charged
//     to the slot, and the kernel's OOM killer only considers processes
//     whose main thread is in the slot; workers therefore never run on the
//     main thread. With v2 each launcher is cloned into its slot
//     (CLONE_INTO_CGROUP). Slots are reused, never deleted per run.
//   - Working directories as root live on a tmpfs mounted at
//     StateDir/w (nosuid, nodev, noexec): creating and removing a
//     directory on this machine's ext4 costs 150-350 µs, on tmpfs under
//     10 µs, and what a lambda writes there counts against its memory
//     cgroup.
//   - The lambda binary is written once per content (sha256) and exec'd
//     through an fd (execveat with AT_EMPTY_PATH), so eviction never races
//     a run. The file is written while holding syscall.ForkLock for
//     reading: exec of a file that a concurrent fork inherited open for
//     writing fails with ETXTBSY.
//
// Results (medians, 1 KiB stdin, other sessions loading the machine;
// go test -run XXX -bench 'VsBare|RunParallel|TrappedSyscall' ./jail/):
//
//	trivial C, static glibc   jailed 0.73-0.79 ms  bare 0.39-0.46 ms  1.7-1.9x
//	trivial Go                jailed 1.22-1.30 ms  bare 0.96-1.09 ms  1.1-1.3x
//	trivial C, no libc        jailed 0.41-0.49 ms  bare 0.11-0.16 ms  (the fixed cost)
//	two runs at a time        2,400-2,600 C (glibc), 3,300-4,200 C (no libc), 1,400-1,600 Go runs/s
//	trapped syscall           9-10.5 µs each (supervisor round trip)
//
// # Caveats
//
// What is enforced everywhere Start succeeds: the seccomp allow-list and
// ABI checks, the ptrace supervisor (one exec, no forks, a thread limit,
// kills with reasons), rlimits (CPU, data, address space, stack, file
// size, open files, no core dumps, no locked memory), the wall clock,
// stdout and stderr caps, and safe read-back of outputs.
//
// As root (uid 0): each concurrent run gets its own uid and gid from
// Config.UIDRange; runs join an empty network namespace; a cgroup limits
// memory (breach: "memory limit") and tasks; working directories are on a
// private tmpfs. Without root, runs share the node's uid and network
// namespace, memory is limited by RLIMIT_DATA only (allocations fail
// rather than "memory limit"), and working directories live on StateDir's
// filesystem (put it on a tmpfs). Start logs each missing protection and
// Features lists them.
//
// Landlock confines the filesystem. With ABI < 4 there are no TCP rules
// and with ABI < 6 no signal or abstract-socket scoping (the filter still
// denies sockets and foreign signals). Without Landlock, Start succeeds
// only as root, where the per-run uid's file permissions are the only
// filesystem confinement: lambdas can read world-readable files, and Start
// says so. Without root and Landlock, Start fails with ErrUnsupported.
//
// Landlock does not cover metadata: a lambda can stat, access and readlink
// paths outside its directory (sizes, times, owners, symlink targets),
// though it cannot open them. A lambda can create many small files: each
// is bounded by RLIMIT_FSIZE and, as root, all by the memory cgroup
// (tmpfs), but not by count without root. The CPU limit is whole seconds.
// Each run is confined to one CPU unless Config.SpreadCPUs is set.
//
// With cgroup v1 the jail creates lkv-jail-<pid> at the root of the
// memory and pids hierarchies (Config.CgroupParent changes where; a v1
// cgroup has no owner to delegate it) and removes stale ones left by dead
// processes at Start. With v2 it nests under the node's own cgroup and
// needs the memory and pids controllers delegated to it; otherwise it
// degrades and says so. On this kernel a v2 cgroup once
// killed with cgroup.kill kills every later child cloned into it, so the
// jail kills runs through a pidfd and keeps cgroup.kill for slots it
// retires.
//
// Linux on x86-64 only: elsewhere New and Start return ErrUnsupported.
package jail
