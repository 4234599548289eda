package client

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"
)

// GraphOptions configure RunGraph. The zero value runs with the client's
// placement, the nodes' own capacity and three attempts per thunk.
type GraphOptions struct {
	// Placement chooses a node for each ready thunk among the nodes with
	// a free slot. Nil means the client's Config.Placement.
	Placement Placement

	// Pipeline is how many executions of this run may be in flight on one
	// node at a time (the pipelining factor), at most the node's capacity
	// as it reports it: executors plus pipeline, or twice its executors.
	// Zero means that capacity.
	Pipeline int

	// Attempts bounds the executions of one thunk, the first included,
	// when they fail for a reason another try may cure (EXEC_FAILED, BUSY,
	// TIMEOUT, a lost connection, a dead node). Zero means 3.
	Attempts int

	// Progress, if not nil, is called from RunGraph's goroutine whenever
	// the counts change. It must return quickly.
	Progress func(GraphProgress)
}

// defaultGraphAttempts is GraphOptions.Attempts when zero.
const defaultGraphAttempts = 3

// How long a node is left alone after an attempt on it failed: a lost
// connection means it may be dead (the topology will tell), BUSY that
// other clients fill it.
const (
	restAfterConnLoss = 2 * time.Second
	restAfterBusy     = 100 * time.Millisecond
)

// noExecutorsGrace is how long a run waits, with nothing running, for a
// node that runs lambdas to (re)appear before it gives up.
const noExecutorsGrace = 10 * time.Second

// RunGraph runs every thunk of g on the cluster c talks to, each after the
// thunks that write what it reads, and returns a summary. It checks first
// that the graph is valid and that every key it reads and no thunk writes
// exists. At most opts.Pipeline executions of the run are in flight per
// node, and ready thunks are placed only on nodes with a free slot.
//
// An attempt that fails for a reason another try may cure is retried,
// preferably on another node, up to opts.Attempts times; outputs should be
// immutable so that a retry is harmless (see docs/lambdas.md). A thunk
// whose lambda returns a non-zero code fails the run with a *ThunkError;
// so does a thunk out of attempts. On error the report covers the thunks
// that finished. RunGraph may be called concurrently; g must not change
// while it runs.
func RunGraph(ctx context.Context, c *Client, g *Graph, opts GraphOptions) (*GraphReport, error) {
	start := time.Now()
	p, err := planGraph(g)
	if err != nil {
		return nil, err
	}
	if opts.Placement == nil {
		opts.Placement = c.cfg.Placement
	}
	if opts.Attempts <= 0 {
		opts.Attempts = defaultGraphAttempts
	}
	if err := checkInputs(ctx, c, p); err != nil {
		return nil, err
	}
	r := newGraphRun(c, p, opts, start)
	if len(r.nodes(time.Now())) == 0 {
		// Maybe the client's table is old.
		if err := c.Refresh(ctx); err != nil {
			return nil, err
		}
		if nodes := r.nodes(time.Now()); len(nodes) == 0 {
			return nil, ErrNoExecutors
		}
	}
	err = r.loop(ctx)
	return r.report(), err
}

// graphRun is one run of a graph. Its fields belong to the goroutine in
// loop; attempts run in goroutines of their own and send their results to
// it.
type graphRun struct {
	c     *Client
	p     *graphPlan
	opts  GraphOptions
	start time.Time

	left     []int      // per thunk: parents not finished yet
	attempts []int      // per thunk: executions sent
	failedOn [][]string // per thunk: nodes where an attempt failed
	errs     [][]string // per thunk: the failed attempts' errors
	ready    []int      // thunks whose inputs exist, in the order they became ready
	running  int
	done     int
	retries  int
	sent     int

	inflight map[string]int       // node id → executions of this run
	maxIn    map[string]int       // node id → most at once
	failures map[string]int       // node id → failed attempts
	resting  map[string]time.Time // node id → left alone until then
	noNodes  time.Time            // since when no node could run anything; zero if one could

	finished []ThunkReport
	results  chan attempt
	wg       sync.WaitGroup // attempts
}

// attempt is the result of one execution of a thunk.
type attempt struct {
	thunk      int
	node       string // id of the node it was sent to
	res        *ExecResult
	err        error
	start, end time.Duration // since the run began
}

// runNode is a node that may run thunks, with its slots.
type runNode struct {
	id, addr string
	slots    int
}

func newGraphRun(c *Client, p *graphPlan, opts GraphOptions, start time.Time) *graphRun {
	n := len(p.g.Thunks)
	r := &graphRun{
		c: c, p: p, opts: opts, start: start,
		left: slices.Clone(p.parents), attempts: make([]int, n), failedOn: make([][]string, n), errs: make([][]string, n),
		inflight: map[string]int{}, maxIn: map[string]int{}, failures: map[string]int{}, resting: map[string]time.Time{},
		results: make(chan attempt),
	}
	for i, k := range r.left {
		if k == 0 {
			r.ready = append(r.ready, i)
		}
	}
	return r
}

// loop starts thunks as they become ready and nodes have free slots, and
// collects their results, until every thunk finished or one failed the
// run. It waits for the attempts it started before it returns.
func (r *graphRun) loop(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		r.wg.Wait()
	}()
	for r.done < len(r.p.g.Thunks) {
		wait, err := r.schedule(ctx)
		if err != nil {
			return err
		}
		r.progress()
		var timer <-chan time.Time
		if wait > 0 {
			timer = time.After(wait)
		}
		select {
		case a := <-r.results:
			if err := r.finish(ctx, a); err != nil {
				return err
			}
		case <-timer:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	r.progress()
	return nil
}

// nodes lists the live nodes that run lambdas and are not resting after
// a failure, in the order of the topology.
func (r *graphRun) nodes(now time.Time) []runNode {
	var out []runNode
	for _, n := range r.c.routes.Load().top.Nodes {
		if n.Executors <= 0 || (n.State != "" && n.State != "alive") || slices.ContainsFunc(out, func(o runNode) bool { return o.id == n.ID }) {
			continue
		}
		if until, ok := r.resting[n.ID]; ok && now.Before(until) {
			continue
		}
		slots := n.Executors + n.Pipeline
		if n.Pipeline <= 0 {
			slots = 2 * n.Executors
		}
		if r.opts.Pipeline > 0 {
			// More than the node admits would only be answered BUSY.
			slots = min(slots, r.opts.Pipeline)
		}
		out = append(out, runNode{id: n.ID, addr: n.Addr, slots: slots})
	}
	return out
}

// schedule starts ready thunks on nodes with free slots. It returns how
// long to wait before trying again when ready thunks wait for something
// that only time brings (a resting node, a node to appear), else zero.
func (r *graphRun) schedule(ctx context.Context) (time.Duration, error) {
	if len(r.ready) == 0 {
		return 0, nil
	}
	now := time.Now()
	nodes := r.nodes(now)
	if len(nodes) == 0 {
		if r.running > 0 {
			return r.nextWake(now), nil
		}
		if r.noNodes.IsZero() {
			r.noNodes = now
		} else if now.Sub(r.noNodes) > noExecutorsGrace && r.nextWake(now) == 0 {
			return 0, fmt.Errorf("%w for %v", ErrNoExecutors, noExecutorsGrace)
		}
		r.c.refreshAsync()
		return max(r.nextWake(now), 250*time.Millisecond), nil
	}
	r.noNodes = time.Time{}
	free := 0
	for _, n := range nodes {
		if r.inflight[n.id] < n.slots {
			free++
		}
	}
	var kept []int // ready thunks skipped because only nodes they failed on are free
	i := 0
	for ; i < len(r.ready) && free > 0; i++ {
		t := r.ready[i]
		cands := r.candidates(t, nodes)
		if len(cands) == 0 {
			kept = append(kept, t)
			continue
		}
		n := r.pick(t, cands)
		r.launch(ctx, t, n)
		if r.inflight[n.id] == n.slots {
			free--
		}
	}
	if kept == nil {
		r.ready = r.ready[i:]
	} else {
		r.ready = append(kept, r.ready[i:]...)
	}
	return r.nextWake(now), nil
}

// nextWake returns how long until the first resting node may be used
// again, or zero if none rests.
func (r *graphRun) nextWake(now time.Time) time.Duration {
	var d time.Duration
	for id, until := range r.resting {
		if !now.Before(until) {
			delete(r.resting, id)
			continue
		}
		if w := until.Sub(now); d == 0 || w < d {
			d = w
		}
	}
	return d
}

// candidates returns the nodes with a free slot for thunk t, leaving out
// those where it failed unless it failed on every node.
func (r *graphRun) candidates(t int, nodes []runNode) []runNode {
	failed := r.failedOn[t]
	avoid := len(failed) > 0 && slices.ContainsFunc(nodes, func(n runNode) bool { return !slices.Contains(failed, n.id) })
	var out []runNode
	for _, n := range nodes {
		if r.inflight[n.id] < n.slots && !(avoid && slices.Contains(failed, n.id)) {
			out = append(out, n)
		}
	}
	return out
}

// pick asks the placement for one of cands.
func (r *graphRun) pick(t int, cands []runNode) runNode {
	if len(cands) == 1 {
		return cands[0]
	}
	th := &r.p.g.Thunks[t]
	// The lambda's binary is data the node must have too; a toolchain's
	// may be the largest input of all.
	deps := make([]Dep, 0, 1+len(th.Deps))
	deps = append(deps, Dep{Key: th.Lambda})
	for _, d := range th.Deps {
		deps = append(deps, Dep{Key: d.Key})
	}
	rt := r.c.routes.Load()
	pc := r.c.known.context(rt, rt.ownerID, deps)
	pc.Nodes = make([]NodeLoad, len(cands))
	for i, n := range cands {
		pc.Nodes[i] = NodeLoad{ID: n.id, Addr: n.addr, InFlight: r.inflight[n.id], Capacity: n.slots}
	}
	i := r.opts.Placement.Place(pc)
	if i < 0 || i >= len(cands) {
		i = 0
	}
	return cands[i]
}

// launch sends an attempt of thunk t to node n.
func (r *graphRun) launch(ctx context.Context, t int, n runNode) {
	th := &r.p.g.Thunks[t]
	r.attempts[t]++
	r.sent++
	r.running++
	r.inflight[n.id]++
	r.maxIn[n.id] = max(r.maxIn[n.id], r.inflight[n.id])
	opts := th.execOptions()
	opts.Node = n.addr
	start := time.Since(r.start)
	f := r.c.ExecAsync(ctx, th.Lambda, opts)
	learn := len(r.p.children[t]) > 0
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		res, err := f.Wait()
		a := attempt{thunk: t, node: n.id, res: res, err: err, start: start, end: time.Since(r.start)}
		if err == nil && res.ReturnCode == 0 && learn {
			// Learn the outputs' sizes, for placing the thunks that read
			// them by bytes.
			_, _ = r.c.Stat(ctx, r.p.writes[t]...)
		}
		select {
		case r.results <- a:
		case <-ctx.Done():
		}
	}()
}

// execOptions turns a thunk into an execution's options.
func (t *Thunk) execOptions() ExecOptions {
	o := ExecOptions{Args: t.Args, Raw: t.Raw, Timeout: time.Duration(t.Timeout), Limits: t.Limits, Env: t.Env}
	for _, d := range t.Deps {
		o.Deps = append(o.Deps, Dep{Key: d.Key, AsFile: d.AsFile, Name: d.Name})
	}
	for _, out := range t.Outputs {
		perm, _ := outputPerm(out.Perm) // checked by planGraph
		o.Outputs = append(o.Outputs, Output{File: out.File, Key: out.Key, Perm: uint8(perm)})
	}
	return o
}

// finish takes an attempt's result: the thunk is done, retried, or fails
// the run.
func (r *graphRun) finish(ctx context.Context, a attempt) error {
	r.running--
	r.inflight[a.node]--
	t := a.thunk
	th := &r.p.g.Thunks[t]
	if a.err == nil {
		node := cmp.Or(a.res.Node, a.node)
		if a.res.ReturnCode != 0 {
			tail := a.res.Stderr
			if len(tail) == 0 {
				tail = a.res.Output
			}
			return &ThunkError{ID: th.ID, Node: node, Attempts: r.attempts[t], ReturnCode: a.res.ReturnCode, Tail: tailOf(tail, 400)}
		}
		for _, k := range th.Puts {
			if !slices.Contains(a.res.Puts, k) {
				return &ThunkError{ID: th.ID, Node: node, Attempts: r.attempts[t], Err: fmt.Errorf("the lambda did not put %q, which the graph says it writes", k)}
			}
		}
		r.succeed(t, node, a)
		return nil
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if code, tail, ok := exitStatusOf(a.err); ok {
		return &ThunkError{ID: th.ID, Node: a.node, Attempts: r.attempts[t], ReturnCode: code, Tail: tailOf([]byte(tail), 400)}
	}
	if !retryable(a.err) {
		return &ThunkError{ID: th.ID, Node: a.node, Attempts: r.attempts[t], Err: a.err}
	}
	r.failures[a.node]++
	r.failedOn[t] = append(r.failedOn[t], a.node)
	r.errs[t] = append(r.errs[t], a.node+": "+a.err.Error())
	r.rest(a.node, a.err)
	if r.attempts[t] >= r.opts.Attempts {
		return &ThunkError{ID: th.ID, Node: a.node, Attempts: r.attempts[t], Err: a.err}
	}
	r.retries++
	r.ready = slices.Insert(r.ready, 0, t) // it has waited longest
	return nil
}

// succeed records thunk t as done and readies the thunks that waited only
// for it.
func (r *graphRun) succeed(t int, node string, a attempt) {
	// The node fetched the lambda's binary too and keeps it cached: it
	// holds it, for placing the next thunks.
	r.c.known.ranAt(node, []Dep{{Key: r.p.g.Thunks[t].Lambda}})
	r.done++
	r.finished = append(r.finished, ThunkReport{
		ID: r.p.g.Thunks[t].ID, Node: node, Attempts: r.attempts[t], Start: a.start, End: a.end,
		GraphStats: statsOf(a.res.Stats), Errors: r.errs[t],
	})
	for _, c := range r.p.children[t] {
		if r.left[c]--; r.left[c] == 0 {
			r.ready = append(r.ready, c)
		}
	}
}

// rest leaves a node alone for a while after an attempt on it failed in
// a way that says it cannot take work now.
func (r *graphRun) rest(node string, err error) {
	switch {
	case isConnError(err):
		r.resting[node] = time.Now().Add(restAfterConnLoss)
		r.c.refreshAsync()
	case errors.Is(err, ErrBusy):
		r.resting[node] = time.Now().Add(restAfterBusy)
	}
}

func (r *graphRun) progress() {
	if r.opts.Progress == nil {
		return
	}
	total := len(r.p.g.Thunks)
	r.opts.Progress(GraphProgress{
		Total: total, Done: r.done, Running: r.running, Queued: len(r.ready),
		Waiting: total - r.done - r.running - len(r.ready), Retries: r.retries, Elapsed: time.Since(r.start),
	})
}

// report sums up the run so far.
func (r *graphRun) report() *GraphReport {
	rep := &GraphReport{
		Wall: time.Since(r.start), Thunks: len(r.p.g.Thunks), Done: r.done, Attempts: r.sent, Retries: r.retries,
		PerThunk: r.finished, Nodes: []NodeReport{},
	}
	for id, in := range r.maxIn {
		rep.Nodes = append(rep.Nodes, NodeReport{ID: id, MaxInFlight: in, Failures: r.failures[id]})
	}
	rep.Sum()
	return rep
}
