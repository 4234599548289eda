//go:build linux && amd64

package jail

import (
	"fmt"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"
)

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
	cpu  int         // index in workerPool.cpus
}

// workerPool keeps idle workers for reuse: creating a thread (and
// joining a cgroup) per run would cost more than the run.
//
// Unless Config.SpreadCPUs is set, each worker thread is pinned to one of
// the CPUs the node may use, and its lambdas inherit that CPU. A ptrace
// stop is several times cheaper when the tracer and the tracee share a
// CPU (no cross-CPU wake-up; measured here: a trivial Go lambda, whose
// runtime makes about seven stops, goes from 1.53x to 1.30x a bare
// fork+exec). The cost: one lambda uses one CPU. Runs go to the least busy
// CPU.
type workerPool struct {
	j       *Jail
	cpus    []int       // CPUs to pin to; [-1] when not pinning
	all     unix.CPUSet // every CPU the node may use, for runs spread out
	maxIdle int         // idle workers kept for reuse

	mu   sync.Mutex // guards idle and busy
	idle []*worker
	busy []int // running workers per entry of cpus
}

func newWorkerPool(j *Jail, spread bool) *workerPool {
	cpus := []int{-1}
	var set unix.CPUSet
	if !spread && unix.SchedGetaffinity(0, &set) == nil && set.Count() > 0 {
		cpus = cpus[:0]
		for c := 0; c < len(set)*64; c++ {
			if set.IsSet(c) {
				cpus = append(cpus, c)
			}
		}
	}
	return &workerPool{j: j, cpus: cpus, all: set, busy: make([]int, len(cpus)), maxIdle: 2*runtime.NumCPU() + 2}
}

// spreads says whether a run with these limits may use every CPU although
// workers are pinned: one that asks for more CPU time than the default.
func (p *workerPool) spreads(lim Limits) bool {
	return p.cpus[0] >= 0 && lim.CPU > p.j.cfg.Defaults.CPU
}

// get returns an idle worker on the least busy CPU, or starts one there.
// The caller is inside j.enter and must hand the worker exactly one job.
func (p *workerPool) get() (*worker, error) {
	p.mu.Lock()
	c := 0
	for i, n := range p.busy {
		if n < p.busy[c] {
			c = i
		}
	}
	for i, w := range p.idle {
		if w.cpu == c {
			p.idle = append(p.idle[:i], p.idle[i+1:]...)
			p.busy[c]++
			p.mu.Unlock()
			return w, nil
		}
	}
	p.busy[c]++
	p.mu.Unlock()
	w := &worker{jobs: make(chan *run, 1), cpu: c}
	ready := make(chan error, 1)
	p.j.goFunc(func() { p.start(w, ready) })
	if err := <-ready; err != nil {
		p.mu.Lock()
		p.busy[c]--
		p.mu.Unlock()
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
			r := <-w.jobs
			r.trace()
		}
		if !p.release(w) {
			return
		}
	}
}

// setup pins the worker's thread, gives it a cgroup slot and, with v1,
// joins it.
func (p *workerPool) setup(w *worker) error {
	if cpu := p.cpus[w.cpu]; cpu >= 0 {
		var set unix.CPUSet
		set.Set(cpu)
		if err := unix.SchedSetaffinity(0, &set); err != nil {
			return fmt.Errorf("jail: pin worker to CPU %d: %w", cpu, err)
		}
	}
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
	p.busy[w.cpu]--
	if len(p.idle) >= p.maxIdle {
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
