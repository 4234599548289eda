package gobuild

import (
	"container/heap"
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

// Executor runs one thunk: a raw-mode tool run whose outputs it stores.
// It must be safe to call concurrently.
type Executor interface {
	Exec(ctx context.Context, th *client.Thunk) (*client.ExecResult, error)
}

// ToolError is a thunk whose tool ran and failed.
type ToolError struct {
	ID     string
	Code   int
	Output []byte
	Stderr []byte
}

func (e *ToolError) Error() string {
	msg := strings.TrimSpace(string(e.Stderr) + string(e.Output))
	return fmt.Sprintf("%s: exit status %d: %s", e.ID, e.Code, msg)
}

// RunOptions tune Run.
type RunOptions struct {
	// Parallel is how many thunks run at once; zero means 4.
	Parallel int
	// Have are keys that already exist: a thunk whose outputs are all
	// there is skipped (outputs are named by the action that makes them).
	Have map[string]bool
	// Retries is how often a thunk refused for load (BUSY) or lost with
	// its connection is tried again; zero means 20.
	Retries int
}

// ThunkReport is how one thunk went.
type ThunkReport struct {
	ID      string
	Node    string
	Start   time.Duration // since Run started
	Wall    time.Duration // as the client saw it, retries included
	Stats   *client.ExecStats
	Skipped bool // its outputs existed already
	Retries int
}

// Report is how a run went.
type Report struct {
	Wall   time.Duration
	Thunks []ThunkReport // in graph order
}

// Run runs the graph's thunks, each after those that produce its inputs,
// most critical first (the longest chain of work still ahead of it). It
// stops at the first failure and returns it.
func Run(ctx context.Context, g *client.Graph, ex Executor, o RunOptions) (*Report, error) {
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Retries <= 0 {
		o.Retries = 20
	}
	s, err := newSched(g, o.Have)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	rep := &Report{Thunks: make([]ThunkReport, len(g.Thunks))}
	type result struct {
		i   int
		r   ThunkReport
		err error
	}
	results := make(chan result)
	running := 0
	var firstErr error
	for s.left > 0 || running > 0 {
		for firstErr == nil && running < o.Parallel && s.ready.Len() > 0 {
			i := heap.Pop(&s.ready).(int)
			running++
			go func() {
				r, err := runOne(ctx, ex, &g.Thunks[i], o.Retries)
				r.Start = time.Since(start) - r.Wall
				results <- result{i, r, err}
			}()
		}
		if running == 0 {
			break
		}
		res := <-results
		running--
		rep.Thunks[res.i] = res.r
		if res.err != nil {
			if firstErr == nil {
				firstErr = res.err
				cancel()
			}
			continue
		}
		s.done(res.i)
	}
	rep.Wall = time.Since(start)
	for i := range rep.Thunks {
		rep.Thunks[i].ID = g.Thunks[i].ID
		if s.skipped[i] {
			rep.Thunks[i].Skipped = true
		}
	}
	if firstErr == nil && s.left > 0 {
		firstErr = errors.New("graph has thunks that never became ready")
	}
	return rep, firstErr
}

// runOne runs a thunk, again after a refusal for load or a lost
// connection (its outputs are immutable, so a second run is harmless).
func runOne(ctx context.Context, ex Executor, th *client.Thunk, retries int) (ThunkReport, error) {
	t0 := time.Now()
	var r ThunkReport
	for attempt := 0; ; attempt++ {
		res, err := ex.Exec(ctx, th)
		if err == nil {
			r.Wall, r.Node, r.Stats = time.Since(t0), res.Node, res.Stats
			return r, nil
		}
		var te *ToolError
		if errors.As(err, &te) || ctx.Err() != nil || attempt >= retries || !retryable(err) {
			r.Wall = time.Since(t0)
			if te == nil {
				err = fmt.Errorf("%s: %w", th.ID, err)
			}
			return r, err
		}
		r.Retries++
		d := min(10*time.Millisecond<<min(attempt, 6), 500*time.Millisecond)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
}

func retryable(err error) bool {
	return errors.Is(err, client.ErrBusy) || errors.Is(err, client.ErrTryAgain) ||
		errors.Is(err, client.ErrUnavailable)
}

// sched is the state of a run: what each thunk waits for and what is
// ready. Only Run's goroutine uses it.
type sched struct {
	users   [][]int // thunks that read an output of i
	pending []int   // producers i still waits for
	ready   readyHeap
	skipped []bool
	left    int
}

func newSched(g *client.Graph, have map[string]bool) (*sched, error) {
	n := len(g.Thunks)
	producer := make(map[string]int)
	for i, th := range g.Thunks {
		for _, out := range th.Outputs {
			if readsKey(&th, out.Key) {
				continue // an input stored again as it was
			}
			if _, dup := producer[out.Key]; dup {
				return nil, fmt.Errorf("key %q is written by two thunks", out.Key)
			}
			producer[out.Key] = i
		}
	}
	s := &sched{users: make([][]int, n), pending: make([]int, n), skipped: make([]bool, n)}
	deps := make([][]int, n)
	for i, th := range g.Thunks {
		for _, d := range th.Deps {
			if j, ok := producer[d.Key]; ok {
				if j >= i {
					return nil, fmt.Errorf("thunk %s reads %s before it is made", th.ID, d.Key)
				}
				deps[i] = append(deps[i], j)
				s.users[j] = append(s.users[j], i)
			}
		}
	}
	// Priority: the work on the longest path from the thunk to the end.
	prio := make([]int, n)
	for i := n - 1; i >= 0; i-- {
		best := 0
		for _, u := range s.users[i] {
			best = max(best, prio[u])
		}
		prio[i] = best + weight(&g.Thunks[i])
	}
	s.ready.prio = prio
	for i, th := range g.Thunks {
		s.pending[i] = len(deps[i])
		s.skipped[i] = len(th.Outputs) > 0 && allHave(th.Outputs, have)
	}
	s.left = n
	for i := range g.Thunks {
		if s.pending[i] == 0 {
			s.makeReady(i)
		}
	}
	return s, nil
}

func readsKey(th *client.Thunk, key string) bool {
	for _, d := range th.Deps {
		if d.Key == key {
			return true
		}
	}
	return false
}

func allHave(outs []client.GraphOutput, have map[string]bool) bool {
	for _, o := range outs {
		if !have[o.Key] {
			return false
		}
	}
	return true
}

// weight guesses a thunk's cost: compiles and links dominate.
func weight(th *client.Thunk) int {
	switch {
	case strings.HasPrefix(th.ID, "compile "), strings.HasPrefix(th.ID, "link "):
		return 20
	}
	return 1
}

// makeReady queues i, or, when it is skipped, finishes it at once.
func (s *sched) makeReady(i int) {
	if s.skipped[i] {
		s.done(i)
		return
	}
	heap.Push(&s.ready, i)
}

func (s *sched) done(i int) {
	s.left--
	for _, u := range s.users[i] {
		s.pending[u]--
		if s.pending[u] == 0 {
			s.makeReady(u)
		}
	}
}

// readyHeap orders ready thunks by priority, highest first.
type readyHeap struct {
	items []int
	prio  []int
}

func (h *readyHeap) Len() int           { return len(h.items) }
func (h *readyHeap) Less(i, j int) bool { return h.prio[h.items[i]] > h.prio[h.items[j]] }
func (h *readyHeap) Swap(i, j int)      { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *readyHeap) Push(x any)         { h.items = append(h.items, x.(int)) }
func (h *readyHeap) Pop() any {
	n := len(h.items)
	x := h.items[n-1]
	h.items = h.items[:n-1]
	return x
}
