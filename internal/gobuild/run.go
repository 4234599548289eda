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
	// Retries is how often a thunk refused for load (BUSY) is tried
	// again; zero means 20.
	Retries int
}

// Run runs the graph's thunks through ex, each after those that produce
// its inputs, most critical first (the longest chain of work still ahead
// of it). It stops at the first failure and returns it with a report of
// what finished. Clusters use client.RunGraph; Run is for executors that
// are not a cluster (LocalExecutor).
func Run(ctx context.Context, g *client.Graph, ex Executor, o RunOptions) (*client.GraphReport, error) {
	if o.Parallel <= 0 {
		o.Parallel = 4
	}
	if o.Retries <= 0 {
		o.Retries = 20
	}
	s, err := newSched(g)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	start := time.Now()
	rep := &client.GraphReport{Thunks: len(g.Thunks)}
	type result struct {
		r   client.ThunkReport
		i   int
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
				t0 := time.Since(start)
				r, err := runOne(ctx, ex, &g.Thunks[i], o.Retries)
				r.Start, r.End = t0, time.Since(start)
				results <- result{r, i, err}
			}()
		}
		if running == 0 {
			break
		}
		res := <-results
		running--
		rep.Attempts += res.r.Attempts
		rep.Retries += res.r.Attempts - 1
		if res.err != nil {
			if firstErr == nil {
				firstErr = res.err
				cancel()
			}
			continue
		}
		rep.Done++
		rep.PerThunk = append(rep.PerThunk, res.r)
		s.done(res.i)
	}
	rep.Wall = time.Since(start)
	rep.Sum()
	if firstErr == nil && s.left > 0 {
		firstErr = errors.New("graph has thunks that never became ready")
	}
	return rep, firstErr
}

// runOne runs a thunk, again after a refusal for load.
func runOne(ctx context.Context, ex Executor, th *client.Thunk, retries int) (client.ThunkReport, error) {
	r := client.ThunkReport{ID: th.ID}
	for attempt := 0; ; attempt++ {
		r.Attempts++
		res, err := ex.Exec(ctx, th)
		if err == nil {
			r.Node = res.Node
			if s := res.Stats; s != nil {
				us := func(n int64) time.Duration { return time.Duration(n) * time.Microsecond }
				r.GraphStats = client.GraphStats{
					Queue: us(s.QueueMicros), Fetch: us(s.FetchMicros), Run: us(s.RunMicros), Store: us(s.StoreMicros),
					KV: us(s.FetchMicros + s.StoreMicros), BytesLocal: s.BytesLocal, BytesCache: s.BytesCache, BytesRemote: s.BytesRemote,
				}
			}
			return r, nil
		}
		var te *ToolError
		if errors.As(err, &te) || ctx.Err() != nil || attempt >= retries || !errors.Is(err, client.ErrBusy) {
			if te == nil {
				err = fmt.Errorf("%s: %w", th.ID, err)
			}
			return r, err
		}
		d := min(10*time.Millisecond<<min(attempt, 6), 500*time.Millisecond)
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return r, ctx.Err()
		}
	}
}

// Pending returns the thunks of g that still have an output to make: a
// thunk whose outputs are all in have is left out (outputs are named by
// the action that makes them, so they hold what it would make). Nil when
// nothing is left to run.
func Pending(g *client.Graph, have map[string]bool) *client.Graph {
	out := &client.Graph{}
	for _, th := range g.Thunks {
		for _, o := range th.Outputs {
			if !have[o.Key] {
				out.Thunks = append(out.Thunks, th)
				break
			}
		}
	}
	if len(out.Thunks) == 0 {
		return nil
	}
	return out
}

// OutputKeys lists every key the graph's thunks write.
func OutputKeys(g *client.Graph) []string {
	var keys []string
	for _, th := range g.Thunks {
		for _, o := range th.Outputs {
			keys = append(keys, o.Key)
		}
	}
	return keys
}

// criticalFirst reorders g's thunks so that, of those whose inputs are
// made, the one with the most work ahead of it comes first. A runner that
// starts ready thunks in graph order (client.RunGraph) then starts the
// build's critical path (runtime, then the chain to net/http) early.
func criticalFirst(g *client.Graph) error {
	s, err := newSched(g)
	if err != nil {
		return err
	}
	order := make([]client.Thunk, 0, len(g.Thunks))
	for s.ready.Len() > 0 {
		i := heap.Pop(&s.ready).(int)
		order = append(order, g.Thunks[i])
		s.done(i)
	}
	if len(order) != len(g.Thunks) {
		return errors.New("graph has thunks that never become ready")
	}
	g.Thunks = order
	return nil
}

// sched is the state of a run: what each thunk waits for and what is
// ready. Only Run's goroutine uses it.
type sched struct {
	users   [][]int // thunks that read an output of i
	pending []int   // producers i still waits for
	ready   readyHeap
	left    int
}

func newSched(g *client.Graph) (*sched, error) {
	if err := g.Validate(); err != nil {
		return nil, err
	}
	n := len(g.Thunks)
	producer := make(map[string]int)
	for i, th := range g.Thunks {
		for _, out := range th.Outputs {
			producer[out.Key] = i
		}
	}
	s := &sched{users: make([][]int, n), pending: make([]int, n)}
	for i, th := range g.Thunks {
		for _, d := range th.Deps {
			if j, ok := producer[d.Key]; ok {
				if j >= i {
					return nil, fmt.Errorf("thunk %s reads %s before it is made", th.ID, d.Key)
				}
				s.pending[i]++
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
	s.left = n
	for i := range g.Thunks {
		if s.pending[i] == 0 {
			heap.Push(&s.ready, i)
		}
	}
	return s, nil
}

// weight guesses a thunk's cost: compiles and links dominate.
func weight(th *client.Thunk) int {
	switch {
	case strings.HasPrefix(th.ID, "compile "), strings.HasPrefix(th.ID, "link "):
		return 20
	}
	return 1
}

func (s *sched) done(i int) {
	s.left--
	for _, u := range s.users[i] {
		s.pending[u]--
		if s.pending[u] == 0 {
			heap.Push(&s.ready, u)
		}
	}
}

// readyHeap orders ready thunks by priority, highest first.
type readyHeap struct {
	items []int
	prio  []int
}

func (h *readyHeap) Len() int { return len(h.items) }
func (h *readyHeap) Less(i, j int) bool {
	a, b := h.items[i], h.items[j]
	if h.prio[a] != h.prio[b] {
		return h.prio[a] > h.prio[b]
	}
	return a < b
}
func (h *readyHeap) Swap(i, j int) { h.items[i], h.items[j] = h.items[j], h.items[i] }
func (h *readyHeap) Push(x any)    { h.items = append(h.items, x.(int)) }
func (h *readyHeap) Pop() any {
	n := len(h.items)
	x := h.items[n-1]
	h.items = h.items[:n-1]
	return x
}
