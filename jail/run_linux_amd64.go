//go:build linux && amd64

package jail

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// run is one Run call. The caller's goroutine prepares it, a worker
// thread forks and traces it (trace_linux_amd64.go), I/O goroutines feed
// and drain its pipes, and the caller's goroutine enforces the wall-clock
// limit and turns the outcome into a Result.
type run struct {
	j    *Jail
	spec *Spec
	lim  Limits
	bin  *Binary
	uid  int         // -1 when not root
	slot *cgroupSlot // nil without cgroups

	workdir string
	dir     *os.File // O_PATH of workdir

	child   [4]int   // the child's ends of stdin, stdout, stderr, config; -1 once closed
	cfgW    int      // our end of the configuration pipe; -1 once closed
	stdinW  *os.File // nil once all of Stdin is written
	stdoutR *os.File
	stderrR *os.File
	stdin   []byte // what is left to write

	io             sync.WaitGroup // the I/O goroutines
	stdout, stderr []byte         // set by the readers before io.Done

	ready   chan struct{} // closed when prepare is done (see prepErr)
	prepErr error
	started chan struct{} // closed after the fork (or its failure)
	done    chan struct{} // closed when every process of the run is reaped

	mu     sync.Mutex // guards pidfd and reason
	pidfd  int        // -1 before the fork and after the reap
	reason string     // why the jail killed the run; first one wins

	// Written by the worker before done (or started) is closed.
	forkErr    error
	status     unix.WaitStatus
	rusage     unix.Rusage
	execs      int
	start, end time.Time

	ctxErr error // set by the caller's goroutine
	closed bool
}

// Run runs b in a fresh sandbox as spec describes and returns when every
// process of the run is gone and its working directory is removed.
//
// It returns (*Result, nil) when the lambda exited by itself, whatever
// its exit code. It returns a partial Result and a *KillError when the
// jail killed it (sandbox violation, limit, timeout); an error wrapping
// ctx.Err() if ctx ended first; ErrClosed on Shutdown; an error wrapping
// ErrBadName or ErrBadSpec for a bad spec; and other errors for failures
// of the jail itself. Safe to call concurrently.
func (j *Jail) Run(ctx context.Context, b *Binary, spec *Spec) (*Result, error) {
	if err := j.enter(); err != nil {
		return nil, err
	}
	defer j.wg.Done()
	if b == nil || spec == nil {
		return nil, fmt.Errorf("%w: nil Binary or Spec", ErrBadSpec)
	}
	if err := spec.check(); err != nil {
		return nil, err
	}
	w, err := j.workers.get()
	if err != nil {
		return nil, err
	}
	r := &run{j: j, spec: spec, bin: b, uid: -1, pidfd: -1, slot: w.slot,
		child: [4]int{-1, -1, -1, -1}, cfgW: -1,
		lim:   resolve(spec.Limits, j.cfg.Defaults, j.cfg.Max),
		ready: make(chan struct{}), started: make(chan struct{}), done: make(chan struct{})}
	w.jobs <- r // the worker waits for r.ready
	defer r.release()
	r.prepErr = r.prepare()
	close(r.ready)
	if r.prepErr != nil {
		<-r.done
		return nil, r.prepErr
	}
	return r.execute(ctx)
}

// prepare allocates the uid, cgroup, working directory and pipes, and
// writes the launcher's configuration.
func (r *run) prepare() error {
	j := r.j
	if j.uids != nil {
		if r.uid = j.uids.get(); r.uid < 0 {
			return errors.New("jail: no free uid in UIDRange")
		}
	}
	if r.slot != nil {
		if err := r.slot.limit(r.lim.Memory, r.lim.Procs); err != nil {
			return err
		}
	}
	var err error
	if r.workdir, r.dir, err = j.makeWorkdir(r.uid, r.spec.Files, r.spec.Outputs); err != nil {
		return err
	}
	return r.pipes()
}

// pipes creates stdin, stdout, stderr and the configuration pipe. The
// child's ends are plain blocking fds; ours are non-blocking and use the
// poller. The configuration is written now, but the launcher reads until
// EOF, which comes only when the tracer, having attached, closes cfgW.
// Whatever of stdin fits in the pipe is written now too, so that most
// runs need no writer goroutine.
func (r *run) pipes() error {
	var p [4][2]int
	for i := range p {
		if err := unix.Pipe2(p[i][:], unix.O_CLOEXEC); err != nil {
			for _, q := range p[:i] {
				unix.Close(q[0])
				unix.Close(q[1])
			}
			return fmt.Errorf("jail: pipe: %w", err)
		}
	}
	r.child = [4]int{p[0][0], p[1][1], p[2][1], p[3][0]}
	r.cfgW = p[3][1]
	for _, fd := range []int{p[0][1], p[1][0], p[2][0]} {
		_ = unix.SetNonblock(fd, true) // so that os.NewFile uses the poller
	}
	r.stdinW = os.NewFile(uintptr(p[0][1]), "stdin")
	r.stdoutR = os.NewFile(uintptr(p[1][0]), "stdout")
	r.stderrR = os.NewFile(uintptr(p[2][0]), "stderr")
	if err := writeAllNow(r.cfgW, r.config().encode()); err != nil {
		return fmt.Errorf("jail: write launcher config: %w", err)
	}
	r.stdin = r.spec.Stdin
	r.writeStdinNow()
	return nil
}

// writeAllNow writes b to an empty blocking pipe, growing it first if b
// is larger than the smallest pipe the kernel may have given us.
func writeAllNow(fd int, b []byte) error {
	if len(b) > 4096 {
		if _, err := unix.FcntlInt(uintptr(fd), unix.F_SETPIPE_SZ, len(b)); err != nil {
			return err
		}
	}
	n, err := unix.Write(fd, b)
	if err == nil && n != len(b) {
		err = io.ErrShortWrite
	}
	return err
}

// writeStdinNow writes as much of stdin as the pipe takes without
// blocking, and closes it when all is written. (It uses the raw fd
// through SyscallConn: File.Fd would make the fd blocking.)
func (r *run) writeStdinNow() {
	rc, err := r.stdinW.SyscallConn()
	if err != nil {
		return
	}
	_ = rc.Write(func(fd uintptr) bool {
		for len(r.stdin) > 0 {
			n, err := unix.Write(int(fd), r.stdin)
			if err != nil || n <= 0 {
				break
			}
			r.stdin = r.stdin[n:]
		}
		return true
	})
	if len(r.stdin) == 0 {
		r.stdinW.Close()
		r.stdinW = nil
	}
}

// execute waits for the worker to start the run, then for the run.
func (r *run) execute(ctx context.Context) (*Result, error) {
	<-r.started
	if r.forkErr != nil {
		<-r.done
		return nil, r.forkErr
	}
	r.startIO()
	r.wait(ctx)
	r.io.Wait()
	return r.result()
}

// startIO starts the goroutines that drain stdout and stderr and write
// the rest of stdin.
func (r *run) startIO() {
	r.io.Add(2)
	r.j.goFunc(func() {
		defer r.io.Done()
		r.stdout = r.readStdout()
	})
	r.j.goFunc(func() {
		defer r.io.Done()
		r.stderr = readCapped(r.stderrR, StderrLimit)
	})
	if w := r.stdinW; w != nil {
		r.stdinW = nil
		data := r.stdin
		r.io.Add(1)
		r.j.goFunc(func() {
			defer r.io.Done()
			_, _ = w.Write(data) // EPIPE when the lambda exits without reading it
			w.Close()
		})
	}
}

// readStdout reads stdout up to the limit and kills the run on overflow.
func (r *run) readStdout() []byte {
	defer r.stdoutR.Close()
	data, _ := io.ReadAll(io.LimitReader(r.stdoutR, r.lim.Stdout+1))
	if int64(len(data)) > r.lim.Stdout {
		r.kill("output limit")
		data = data[:r.lim.Stdout]
		_, _ = io.Copy(io.Discard, r.stdoutR)
	}
	return data
}

// readCapped returns the first max bytes of f and discards the rest.
func readCapped(f *os.File, max int64) []byte {
	defer f.Close()
	data, _ := io.ReadAll(io.LimitReader(f, max))
	_, _ = io.Copy(io.Discard, f)
	return data
}

// wait returns when every process of the run is gone, killing it first on
// timeout, cancellation or shutdown.
func (r *run) wait(ctx context.Context) {
	t := time.NewTimer(r.lim.Wall)
	defer t.Stop()
	select {
	case <-r.done:
		return
	case <-t.C:
		r.kill("timeout " + r.lim.Wall.String())
	case <-ctx.Done():
		r.ctxErr = ctx.Err()
		r.kill("canceled")
	case <-r.j.shutdownCh:
		r.closed = true
		r.kill("jail shut down")
	}
	<-r.done
}

// kill makes the jail kill the run with reason (the first reason wins).
// Safe to call from any goroutine at any time.
func (r *run) kill(reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reason == "" {
		r.reason = reason
	}
	r.killLocked()
}

// killLocked sends SIGKILL through the pidfd (never to a pid that could
// have been reused). That kills the whole run: it is one thread group,
// since the filter and the tracer stop every fork. (cgroup.kill is kept
// for the cgroup pool's backstop: on this kernel a v2 cgroup that was
// killed once kills every later CLONE_INTO_CGROUP child too, so a killed
// slot cannot be reused.)
func (r *run) killLocked() {
	if r.pidfd >= 0 {
		_ = unix.PidfdSendSignal(r.pidfd, unix.SIGKILL, nil, 0)
	}
}

// result turns the outcome into what Run returns.
func (r *run) result() (*Result, error) {
	res := &Result{Stdout: r.stdout, Stderr: r.stderr, Wall: r.end.Sub(r.start),
		CPU: time.Duration(r.rusage.Utime.Nano() + r.rusage.Stime.Nano())}
	switch {
	case r.closed:
		return res, ErrClosed
	case r.ctxErr != nil:
		return res, fmt.Errorf("jail: run: %w", r.ctxErr)
	}
	reason := r.reason
	if reason == "" {
		reason = r.limitReason(res.CPU)
	}
	if reason != "" {
		return res, &KillError{Reason: reason}
	}
	if r.execs == 0 {
		return nil, launchError(r.stderr)
	}
	res.ExitCode = exitCode(r.status)
	res.Outputs = r.readOutputs()
	return res, nil
}

// limitReason explains a death the jail did not order itself: the kernel
// enforcing a limit on our behalf.
func (r *run) limitReason(cpu time.Duration) string {
	ws := r.status
	if !ws.Signaled() {
		return ""
	}
	switch ws.Signal() {
	case unix.SIGKILL:
		if r.slot != nil && r.slot.oomKilled() {
			return "memory limit"
		}
		// The kernel enforces RLIMIT_CPU on tick-sampled time, while
		// rusage reports scheduler time: under load (a VM with steal time)
		// they were seen 15% apart. A SIGKILL that neither the jail nor
		// the OOM killer sent, after a good part of the limit, is the
		// CPU limit (or the lambda killing itself, which is harmless to
		// misname).
		if cpu >= cpuSeconds(r.lim.CPU)*time.Second/2 {
			return "cpu limit"
		}
	case unix.SIGXCPU:
		return "cpu limit"
	case unix.SIGXFSZ:
		return "file size limit"
	case unix.SIGSYS:
		// SECCOMP_RET_KILL_PROCESS: another syscall ABI (int 0x80, x32)
		return "sandbox: foreign syscall ABI denied"
	}
	return ""
}

// exitCode is the exit status, or 128+signal.
func exitCode(ws unix.WaitStatus) int {
	if ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return ws.ExitStatus()
}

// launchError explains a launcher that never reached the lambda's exec.
func launchError(stderr []byte) error {
	msg := strings.TrimSpace(string(stderr))
	if strings.Contains(msg, "execveat failed: errno 8") { // ENOEXEC
		return fmt.Errorf("%w: the kernel refused to exec it", ErrNotExecutable)
	}
	if msg == "" {
		msg = "exited before exec"
	}
	return fmt.Errorf("jail: launcher: %s", msg)
}

// release frees what prepare allocated. Every process is gone.
func (r *run) release() {
	r.closeChildEnds()
	if r.cfgW >= 0 {
		unix.Close(r.cfgW)
	}
	for _, f := range []*os.File{r.stdinW, r.stdoutR, r.stderrR} {
		if f != nil {
			f.Close()
		}
	}
	if r.dir != nil {
		r.dir.Close()
	}
	if r.workdir != "" {
		if err := removeAll(r.workdir); err != nil {
			r.j.logger.Error("cannot remove working directory", "dir", r.workdir, "error", err)
		}
	}
	if r.uid >= 0 {
		r.j.uids.put(r.uid)
	}
}

// childFiles is the launcher's fd table: 0-2 stdio, cfgFD, binFD,
// workdirFD, devNullFD and, as root, netnsFD.
func (r *run) childFiles() []uintptr {
	fds := []uintptr{uintptr(r.child[0]), uintptr(r.child[1]), uintptr(r.child[2]), uintptr(r.child[3]),
		r.bin.file.Fd(), r.dir.Fd(), r.j.devNull.Fd()}
	if r.j.netns != nil {
		fds = append(fds, r.j.netns.Fd())
	}
	return fds
}

// closeChildEnds closes our copies of the child's pipe ends, so that EOF
// and EPIPE follow the child's death.
func (r *run) closeChildEnds() {
	for i, fd := range r.child {
		if fd >= 0 {
			unix.Close(fd)
			r.child[i] = -1
		}
	}
}

// fork starts the launcher, which waits for its configuration. It must
// run on the worker's locked thread, whose death kills the launcher
// (PDEATHSIG) until the tracer has attached.
func (r *run) fork() (int, error) {
	pidfd := -1
	sys := &syscall.SysProcAttr{Setsid: true, Pdeathsig: syscall.SIGKILL, PidFD: &pidfd}
	if r.slot != nil && r.slot.fd != nil {
		sys.UseCgroupFD, sys.CgroupFD = true, int(r.slot.fd.Fd())
	}
	attr := &syscall.ProcAttr{Dir: r.workdir, Env: r.spec.env(r.workdir), Files: r.childFiles(), Sys: sys}
	r.start = time.Now()
	pid, err := syscall.ForkExec(r.j.launcherPath, r.spec.argv(r.workdir), attr)
	if err != nil {
		return 0, fmt.Errorf("jail: start launcher: %w", err)
	}
	r.mu.Lock()
	r.pidfd = pidfd
	if r.reason != "" { // killed before it existed
		r.killLocked()
	}
	r.mu.Unlock()
	return pid, nil
}
