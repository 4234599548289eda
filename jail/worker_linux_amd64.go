//go:build linux && amd64

package jail

import (
	"runtime"
	"sync"
)

// maxIdleWorkers bounds the tracer threads kept for reuse.
var maxIdleWorkers = 2*runtime.NumCPU() + 2

// A worker is a goroutine locked to its own OS thread for its whole life.
// Ptrace ties a tracee to the thread that attached it (here, the thread
// that forked it with PTRACE_TRACEME), so every ptrace call and every wait
// of a run must come from that thread. Because the thread runs nothing
// else, wait4(-1, __WALL|__WNOTHREAD) on it sees exactly the processes of
// its current run and never reaps a child of the rest of the node, and
// the tracees' PDEATHSIG and PTRACE_O_EXITKILL fire only if this thread
// dies. The thread exits with the goroutine (it is never unlocked).
type worker struct {
	jobs chan *run
}

// workerPool keeps idle workers for reuse: creating a thread per run
// costs tens of microseconds.
type workerPool struct {
	j    *Jail
	mu   sync.Mutex // guards idle
	idle []*worker
}

func newWorkerPool(j *Jail) *workerPool { return &workerPool{j: j} }

// do runs r.trace on a worker thread. The caller is inside j.enter.
func (p *workerPool) do(r *run) {
	p.mu.Lock()
	var w *worker
	if n := len(p.idle); n > 0 {
		w = p.idle[n-1]
		p.idle = p.idle[:n-1]
	}
	p.mu.Unlock()
	if w == nil {
		w = &worker{jobs: make(chan *run, 1)}
		p.j.goFunc(func() { p.loop(w) })
	}
	w.jobs <- r
}

// loop serves runs until shutdown or until the pool has enough idle
// workers. A worker leaves only when no Run can hand it a job any more:
// it is off the idle list, and no job is on its way.
func (p *workerPool) loop(w *worker) {
	runtime.LockOSThread() // never unlocked: see worker
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
