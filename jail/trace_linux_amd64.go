//go:build linux && amd64

package jail

import (
	"strconv"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The supervisor: every ptrace call and wait of a run, on its worker's
// locked thread. It uses PTRACE_CONT only (never PTRACE_SYSCALL): the
// seccomp filter lets the common calls through in the kernel and stops the
// tracee only for the few it traps.

const (
	ptraceOptions = unix.PTRACE_O_EXITKILL | unix.PTRACE_O_TRACESYSGOOD | unix.PTRACE_O_TRACESECCOMP |
		unix.PTRACE_O_TRACEFORK | unix.PTRACE_O_TRACEVFORK | unix.PTRACE_O_TRACECLONE |
		unix.PTRACE_O_TRACEEXEC

	ptraceGetSyscallInfo = 0x420e
	syscallInfoSeccomp   = 3
	wNoThread            = 0x20000000 // __WNOTHREAD: only this thread's children and tracees
	syscallStopSig       = unix.SIGTRAP | 0x80
)

// syscallInfo is struct ptrace_syscall_info with the seccomp member.
type syscallInfo struct {
	Op      uint8
	_       uint8
	_       uint16
	Arch    uint32
	IP      uint64
	SP      uint64
	Nr      uint64
	Args    [6]uint64
	RetData uint32
	_       uint32
}

// config builds the launcher's instructions for this run.
func (r *run) config() *launchConfig {
	j := r.j
	c := &launchConfig{flags: lfPdeathsig | lfSeccomp, landlock: j.landlock, filter: j.filter,
		rlimits: r.rlimits()}
	if r.uid >= 0 {
		c.flags |= lfSetUID
		c.uid, c.gid = uint32(r.uid), uint32(r.uid)
	}
	if j.netns != nil {
		c.flags |= lfNetNS
	}
	if ll := j.landlock; ll.abi > 0 {
		c.flags |= lfLandlock
		c.rules = []ruleEnt{{workdirFD, ll.workdirRights()}, {binFD, ll.binaryRights()},
			{devNullFD, ll.devNullRights()}}
	}
	return c
}

// rlimits are the run's resource limits, soft = hard. With a memory
// cgroup RLIMIT_DATA is only a backstop (twice the limit) so that the
// cgroup, which reports "memory limit", acts first; without one it is the
// memory limit. RLIMIT_AS only stops absurd address-space reservations:
// Go reserves over 1 GiB at start.
func (r *run) rlimits() []rlimitEnt {
	l := r.lim
	data := uint64(l.Memory)
	if r.slot != nil && r.slot.pool.memory {
		data = 2*uint64(l.Memory) + 64<<20
	}
	ents := []rlimitEnt{
		{unix.RLIMIT_CPU, uint64(cpuSeconds(l.CPU))},
		{unix.RLIMIT_DATA, data},
		{unix.RLIMIT_AS, uint64(l.Memory) + 4<<30},
		{unix.RLIMIT_STACK, uint64(min(l.Memory, 8<<20))}, // also glibc's default thread stack
		{unix.RLIMIT_FSIZE, uint64(l.FileSize)},
		{unix.RLIMIT_NOFILE, uint64(l.OpenFiles)},
		{unix.RLIMIT_CORE, 0},
		{unix.RLIMIT_MEMLOCK, 0},
		{unix.RLIMIT_SIGPENDING, 256}, // the count is per uid: without root, shared with the node
	}
	if r.uid >= 0 { // counts this uid's processes: only this run's
		ents = append(ents, rlimitEnt{unix.RLIMIT_NPROC, uint64(l.Procs) + 1})
	}
	return ents
}

// cpuSeconds rounds a CPU limit up to whole seconds (at least one).
func cpuSeconds(d time.Duration) time.Duration {
	return max(1, (d+time.Second-1)/time.Second)
}

// tracer is the state of one traced run.
type tracer struct {
	r      *run
	pid    int
	tasks  map[int]bool // live traced threads and processes
	forked []int        // processes forked despite the filter (never, in practice)
}

// trace forks the launcher and supervises the run until every process of
// it is reaped. It runs on the worker's locked thread.
func (r *run) trace() {
	defer close(r.done)
	<-r.ready
	if r.prepErr != nil {
		return
	}
	pid, err := r.fork()
	r.closeChildEnds()
	if err != nil {
		r.forkErr = err
		close(r.started)
		return
	}
	close(r.started)
	if r.j.workers.spreads(r.lim) {
		// The launcher waits for its configuration, on one thread: the
		// lambda and all its threads inherit this. Best effort.
		_ = unix.SchedSetaffinity(pid, &r.j.workers.all)
	}
	t := &tracer{r: r, pid: pid, tasks: map[int]bool{pid: true}}
	t.attach()
	t.loop()
	t.drain()
	if r.end.IsZero() {
		r.end = time.Now()
	}
	r.mu.Lock()
	unix.Close(r.pidfd)
	r.pidfd = -1
	r.mu.Unlock()
}

// loop handles stops until the launcher (then the lambda) is reaped.
func (t *tracer) loop() {
	for {
		var ws unix.WaitStatus
		var ru unix.Rusage
		tid, err := unix.Wait4(-1, &ws, unix.WALL|wNoThread, &ru)
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			t.fail("wait4", err) // ECHILD: the leader is gone unseen
			return
		case ws.Exited() || ws.Signaled():
			delete(t.tasks, tid)
			if tid == t.pid {
				t.r.status, t.r.rusage, t.r.end = ws, ru, time.Now()
				return
			}
		case ws.Stopped():
			t.stopped(tid, ws)
		}
	}
}

// stopped handles one ptrace stop of tid.
func (t *tracer) stopped(tid int, ws unix.WaitStatus) {
	if !t.tasks[tid] { // a new thread's first stop may precede the clone event
		t.tasks[tid] = true
		if t.overLimit() {
			return
		}
	}
	sig := ws.StopSignal()
	switch {
	case sig == unix.SIGTRAP && ws.TrapCause() > 0:
		t.event(tid, ws.TrapCause())
	case sig == syscallStopSig:
		t.fail("unexpected syscall stop", nil)
	case sig == unix.SIGSTOP || sig == unix.SIGTSTP || sig == unix.SIGTTIN || sig == unix.SIGTTOU:
		// A lambda never stops (a stopped lambda would only wait for
		// the timeout): stop signals are not delivered.
		t.cont(tid, 0)
	default:
		t.cont(tid, int(sig)) // a genuine signal: deliver it
	}
}

// attach seizes the launcher, which reads its configuration until EOF,
// then closes our end of the configuration pipe to let it go on: no
// launcher step happens untraced. PTRACE_SEIZE sets the options without a
// stop (PTRACE_TRACEME would cost a stop at the launcher's exec).
func (t *tracer) attach() {
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(t.pid), 0, ptraceOptions, 0, 0)
	if errno != 0 {
		t.fail("PTRACE_SEIZE", errno) // killed while blocked on the pipe
		return
	}
	unix.Close(t.r.cfgW)
	t.r.cfgW = -1
}

// event handles a PTRACE_EVENT stop.
func (t *tracer) event(tid, cause int) {
	switch cause {
	case unix.PTRACE_EVENT_SECCOMP:
		t.seccomp(tid)
	case unix.PTRACE_EVENT_EXEC:
		if t.r.execs == 0 && t.isLauncher(tid) {
			// The launcher's own exec, reported because we attached
			// while it was finishing (after its close-on-exec fds were
			// closed, which is when ForkExec returns).
			t.cont(tid, 0)
			return
		}
		t.r.execs++
		if t.r.execs > 1 { // only launcher → lambda
			t.r.kill("sandbox: execve denied")
			return
		}
		t.cont(tid, 0)
	case unix.PTRACE_EVENT_CLONE:
		if msg, err := unix.PtraceGetEventMsg(tid); err == nil {
			t.tasks[int(msg)] = true
		}
		if !t.overLimit() {
			t.cont(tid, 0)
		}
	case unix.PTRACE_EVENT_STOP:
		// A new thread's first stop under PTRACE_SEIZE (stop signals
		// are never delivered, so there are no group stops).
		t.cont(tid, 0)
	case unix.PTRACE_EVENT_FORK, unix.PTRACE_EVENT_VFORK:
		// The filter traps every fork; this is defence in depth.
		t.r.kill("sandbox: fork denied")
		if msg, err := unix.PtraceGetEventMsg(tid); err == nil {
			t.tasks[int(msg)] = true
			t.forked = append(t.forked, int(msg))
			_ = unix.Kill(int(msg), unix.SIGKILL) // a live tracee of ours: its pid cannot be reused
		}
	default:
		t.fail("unexpected ptrace event", nil)
	}
}

// isLauncher reports whether the stopped tid is running the launcher
// file (the kernel's record of its executable, not anything the tracee
// controls).
func (t *tracer) isLauncher(tid int) bool {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(tid)+"/exe", &st); err != nil {
		return false
	}
	return st.Dev == t.r.j.launcherStat.Dev && st.Ino == t.r.j.launcherStat.Ino
}

// overLimit kills the run when it has more threads than Limits.Procs.
func (t *tracer) overLimit() bool {
	if len(t.tasks) <= t.r.lim.Procs {
		return false
	}
	t.r.kill("process limit")
	return true
}

// seccomp judges a trapped syscall from its registers only.
func (t *tracer) seccomp(tid int) {
	var info syscallInfo
	_, _, errno := unix.Syscall6(unix.SYS_PTRACE, ptraceGetSyscallInfo, uintptr(tid),
		unsafe.Sizeof(info), uintptr(unsafe.Pointer(&info)), 0, 0)
	switch {
	case errno == unix.ESRCH:
		return // killed meanwhile
	case errno != 0:
		t.fail("PTRACE_GET_SYSCALL_INFO", errno)
		return
	case info.Op != syscallInfoSeccomp || info.Arch != auditArchX8664:
		t.fail("unexpected syscall info", nil)
		return
	}
	v := decide(info.Nr, info.Args)
	if v.reason != "" {
		t.r.kill(v.reason)
		return
	}
	if v.errno != 0 {
		if err := skipWithErrno(tid, v.errno); err != nil {
			t.fail("deny syscall", err)
			return
		}
	}
	t.cont(tid, 0)
}

// skipWithErrno makes the stopped syscall return -errno without running.
func skipWithErrno(tid int, errno unix.Errno) error {
	var regs unix.PtraceRegs
	if err := unix.PtraceGetRegs(tid, &regs); err != nil {
		return err
	}
	regs.Orig_rax = ^uint64(0) // -1: skip the call
	regs.Rax = uint64(-int64(errno))
	return unix.PtraceSetRegs(tid, &regs)
}

// cont resumes tid, delivering sig. A tracee that died meanwhile (ESRCH)
// is fine; any other failure kills the run.
func (t *tracer) cont(tid, sig int) {
	if err := unix.PtraceCont(tid, sig); err != nil && err != unix.ESRCH {
		t.fail("PTRACE_CONT", err)
	}
}

// fail kills the run because the supervisor cannot vouch for it.
func (t *tracer) fail(what string, err error) {
	t.r.j.logger.Error("supervisor failure; killing the lambda", "step", what, "error", err, "pid", t.pid)
	t.r.kill("sandbox: supervisor error")
}

// drain reaps whatever is left after the leader: nothing, unless a fork
// slipped through, in which case it is killed first. (Only forked
// processes that have not been reaped are signalled: a thread id left in
// tasks by an exec from a non-leader thread may already name another
// process.)
func (t *tracer) drain() {
	for _, pid := range t.forked {
		if t.tasks[pid] {
			_ = unix.Kill(pid, unix.SIGKILL)
		}
	}
	for {
		var ws unix.WaitStatus
		_, err := unix.Wait4(-1, &ws, unix.WALL|wNoThread, nil)
		if err != nil && err != unix.EINTR {
			return // ECHILD: nothing left
		}
	}
}
