//go:build linux && amd64

package jail

import (
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

// maxIdleWorkers bounds the tracer threads kept for reuse.
var maxIdleWorkers = 2*runtime.NumCPU() + 2

// A worker is a goroutine locked to its own OS thread for its whole life.
//
// Ptrace ties a tracee to the thread that attached it (here, the thread
// that forked it with PTRACE_TRACEME), so every ptrace call and every wait
// of a run must come from that thread. Because the thread runs nothing
// else, wait4(-1, __WALL|__WNOTHREAD) on it sees exactly the processes of
// its current run and never reaps a child of the rest of the node, and
// the tracees' PDEATHSIG and PTRACE_O_EXITKILL fire only if this thread
// dies. The thread exits with the goroutine (it is never unlocked).
//
// With cgroup v1 the thread itself joins its cgroup slot once, and every
// launcher it forks is born there: moving a process into a v1 memory
// cgroup costs about 0.6 ms per run (measured), joining once costs it per
// worker. Memory is charged to the owner of an address space (the
// process's main thread), so the node's own memory is never charged to
// the slot, and the kernel's OOM killer only looks at the main threads of
// the processes in the slot; this is why a worker never runs on the
// node's main thread. With cgroup v2 (threads cannot be split across
// cgroups there) each launcher is cloned straight into the slot.
type worker struct {
	jobs chan *run
	slot *cgroupSlot // nil without cgroups
}

// workerPool keeps idle workers for reuse: creating a thread (and
// joining a cgroup) per run would cost more than the run.
type workerPool struct {
	j    *Jail
	mu   sync.Mutex // guards idle
	idle []*worker
}

func newWorkerPool(j *Jail) *workerPool { return &workerPool{j: j} }

// get returns an idle worker, or starts one. The caller is inside j.enter
// and must hand the worker exactly one job.
func (p *workerPool) get() (*worker, error) {
	p.mu.Lock()
	if n := len(p.idle); n > 0 {
		w := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return w, nil
	}
	p.mu.Unlock()
	w := &worker{jobs: make(chan *run, 1)}
	ready := make(chan error, 1)
	p.j.goFunc(func() { p.start(w, ready) })
	if err := <-ready; err != nil {
		return nil, err
	}
	return w, nil
}

// start locks the goroutine to a thread other than the main thread,
// then serves.
func (p *workerPool) start(w *worker, ready chan<- error) {
	runtime.LockOSThread()
	if unix.Gettid() != unix.Getpid() {
		p.serve(w, ready)
		return
	}
	// On the main thread: hand over to a goroutine that cannot run here
	// while this one holds the thread, then give the thread back.
	locked := make(chan struct{})
	p.j.goFunc(func() {
		runtime.LockOSThread()
		close(locked)
		p.serve(w, ready)
	})
	<-locked
	runtime.UnlockOSThread()
}

// serve prepares the worker's thread and runs jobs until shutdown or
// until the pool has enough idle workers. A worker leaves only when no
// Run can hand it a job any more: it is off the idle list, and no job is
// on its way.
func (p *workerPool) serve(w *worker, ready chan<- error) {
	if err := p.setup(w); err != nil {
		ready <- err
		return
	}
	ready <- nil
	defer p.teardown(w)
	for {
		select {
		case r := <-w.jobs:
			r.trace()
		case <-p.j.shutdownCh:
			if p.retire(w) {
				return
			}
			// A Run took w off the idle list before we could
			// retire it: its job is on the way.
			(<-w.jobs).trace()
		}
		if !p.release(w) {
			return
		}
	}
}

// setup gives the worker a cgroup slot and, with v1, joins it.
func (p *workerPool) setup(w *worker) error {
	cg := p.j.cgroups
	if cg == nil {
		return nil
	}
	s, err := cg.get()
	if err != nil {
		return err
	}
	if cg.version == "v1" {
		if err := s.join(unix.Gettid()); err != nil {
			cg.put(s)
			return fmt.Errorf("jail: worker: %w", err)
		}
	}
	w.slot = s
	return nil
}

// teardown returns the slot; the thread leaves it when it exits.
func (p *workerPool) teardown(w *worker) {
	if w.slot != nil {
		p.j.cgroups.put(w.slot)
	}
}

// release makes w idle again, or reports false if it should exit.
func (p *workerPool) release(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) >= maxIdleWorkers {
		return false
	}
	p.idle = append(p.idle, w)
	return true
}

// retire takes w off the idle list, reporting whether it was there.
func (p *workerPool) retire(w *worker) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, x := range p.idle {
		if x == w {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			return true
		}
	}
	return false
}
