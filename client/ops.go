package client

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"strings"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// Perm is a key's permission bits.
type Perm uint8

// Permission bits. Every key has R; a key without W is immutable; a key
// with X is a lambda.
const (
	PermR   Perm = 1
	PermW   Perm = 2
	PermX   Perm = 4
	PermRW       = PermR | PermW
	PermRX       = PermR | PermX
	PermRWX      = PermR | PermW | PermX
)

// String returns the bits as "rwx" with dashes for missing ones.
func (p Perm) String() string {
	b := []byte("---")
	for i, c := range "rwx" {
		if p&(1<<i) != 0 {
			b[i] = byte(c)
		}
	}
	return string(b)
}

// ParsePerm parses "r", "rw", "rx" or "rwx" (letters in any order).
func ParsePerm(s string) (Perm, error) {
	var p Perm
	for _, c := range s {
		bit := Perm(0)
		switch c {
		case 'r':
			bit = PermR
		case 'w':
			bit = PermW
		case 'x':
			bit = PermX
		}
		if bit == 0 || p&bit != 0 {
			return 0, fmt.Errorf("bad permission %q: want letters from r, w, x", s)
		}
		p |= bit
	}
	if p&PermR == 0 {
		return 0, fmt.Errorf("bad permission %q: r is required", s)
	}
	return p, nil
}

// Item is a value with its permissions.
type Item struct {
	Value []byte
	Perm  Perm
}

// KeyInfo describes a key, as Stat returns it.
type KeyInfo = wire.StatEntry

// Dep is a dependency of an execution.
type Dep = wire.Dep

// Output is a file a raw-mode execution leaves behind, stored as a key.
type Output = wire.Output

// ExecLimits are per-execution sandbox limits; zero fields keep the node's
// defaults, and the node caps each at its maximum.
type ExecLimits = wire.ExecLimits

var errBatchNotSent = errors.New("client: Wait on a request of a Batch that was not sent")

// idempotent ops may be resent after a connection broke mid-request.
func idempotent(op wire.Op) bool {
	switch op {
	case wire.OpGet, wire.OpStat, wire.OpPing, wire.OpTopology, wire.OpHello:
		return true
	}
	return false
}

// pending is a request on its way: its first attempt has been sent; wait
// completes it, following redirects and retrying as needed. The request and
// the first attempt's call live inside it, so that an asynchronous request
// costs one allocation (plus its channel) rather than several.
type pending struct {
	c    *Client
	ctx  context.Context
	req  wire.Request
	node string // fixed target, or "" to route by key
	addr string // where the current attempt went
	next string // where a MOVED answer said to go, for the next attempt
	cl   *call
	err  error // the current attempt could not be sent
	own  call  // the first attempt's call
}

// prepare readies p.req's first attempt without sending it.
func (p *pending) prepare(c *Client, ctx context.Context, node string) {
	p.c, p.ctx, p.node = c, ctx, node
	p.own = call{req: &p.req, done: make(chan struct{})}
}

// start sends p.req's first attempt without waiting for the answer.
func (p *pending) start(c *Client, ctx context.Context, node string) {
	p.prepare(c, ctx, node)
	p.send(&p.own)
}

// send starts an attempt with cl, or with a new call when cl is nil.
func (p *pending) send(cl *call) {
	p.addr = p.node
	if p.next != "" {
		p.addr, p.next = p.next, ""
	}
	if p.addr == "" {
		if p.req.ReplicaOK && p.req.Op == wire.OpGet {
			p.addr = p.c.readAddrFor(p.req.Key)
		} else {
			p.addr = p.c.addrFor(p.req.Key)
		}
	}
	nc, err := p.c.conn(p.ctx, p.addr)
	if err != nil {
		p.cl, p.err = nil, err
		return
	}
	if cl == nil {
		cl = &call{req: &p.req, done: make(chan struct{})}
	}
	nc.startCalls(p.ctx, cl)
	p.cl, p.err = cl, nil
}

// wait returns the final response, retrying up to MaxRetries times.
func (p *pending) wait() (*wire.Response, error) {
	for attempt := 0; ; attempt++ {
		resp, retry, err := p.attempt()
		if !retry || attempt >= p.c.cfg.MaxRetries || p.ctx.Err() != nil {
			return resp, err
		}
		if err := p.backoff(attempt); err != nil {
			return nil, err
		}
		p.send(nil)
	}
}

// attempt waits for the current attempt and says whether to retry.
func (p *pending) attempt() (*wire.Response, bool, error) {
	if p.cl == nil && p.err == nil {
		return nil, false, errBatchNotSent
	}
	if p.err != nil {
		return nil, isConnError(p.err), p.err
	}
	if err := p.cl.wait(p.ctx); err != nil {
		retry := isConnError(err) && (!p.cl.sent || idempotent(p.req.Op))
		return nil, retry, err
	}
	resp := &p.cl.resp
	err := errorOf(resp, p.addr)
	switch resp.Status {
	case wire.StatusMoved:
		if p.node != "" {
			return resp, false, err
		}
		// Go where the node said, and learn the new table meanwhile.
		p.next = resp.Addr
		p.c.refreshAsync()
		return resp, true, err
	case wire.StatusTryAgain:
		return resp, true, err
	}
	return resp, false, err
}

// backoff waits before the next attempt and refreshes the topology when
// the last attempt went to the wrong or an unreachable node.
func (p *pending) backoff(attempt int) error {
	if p.next != "" {
		return nil // MOVED names the node: no wait
	}
	if p.err != nil || p.cl == nil || p.cl.err != nil || p.cl.resp.Status == wire.StatusMoved {
		_ = p.c.Refresh(p.ctx)
	}
	d := min(5*time.Millisecond<<attempt, time.Second)
	d = d/2 + rand.N(d/2+1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-p.ctx.Done():
		return p.ctx.Err()
	}
}

func isConnError(err error) bool {
	var ce *connError
	var ne net.Error
	return errors.As(err, &ce) || errors.As(err, &ne)
}

// do sends req to the owner of its key (or to node, if set) and waits.
func (c *Client) do(ctx context.Context, req *wire.Request, node string) (*wire.Response, error) {
	p := &pending{req: *req}
	p.start(c, ctx, node)
	return p.wait()
}

// Future is the result of an asynchronous call. Wait may be called from
// any one goroutine; its result does not change once returned.
type Future[T any] struct {
	p    pending
	conv func(*wire.Response) T
	done bool
	v    T
	err  error
}

// Wait blocks until the call completes and returns its result.
func (f *Future[T]) Wait() (T, error) {
	if !f.done {
		resp, err := f.p.wait()
		if err == nil {
			f.v = f.conv(resp)
		}
		f.err, f.done = err, true
	}
	return f.v, f.err
}

// goFuture starts req, routed by its key or sent to node.
func goFuture[T any](c *Client, ctx context.Context, req wire.Request, node string, conv func(*wire.Response) T) *Future[T] {
	f := &Future[T]{conv: conv}
	f.p.req = req
	f.p.start(c, ctx, node)
	return f
}

// Get returns the value of key, or an error matching ErrNotFound.
func (c *Client) Get(ctx context.Context, key string) ([]byte, error) {
	return c.GetAsync(ctx, key).Wait()
}

// GetAsync sends a get and returns at once.
func (c *Client) GetAsync(ctx context.Context, key string) *Future[[]byte] {
	req := wire.Request{Op: wire.OpGet, Key: key, ReplicaOK: c.cfg.ReadFromReplicas}
	return goFuture(c, ctx, req, "", func(r *wire.Response) []byte {
		c.known.setSize(key, int64(len(r.Value)))
		return r.Value
	})
}

func respValue(r *wire.Response) []byte  { return r.Value }
func respOffset(r *wire.Response) uint64 { return r.Offset }

// GetItem returns the value of key with its permissions.
func (c *Client) GetItem(ctx context.Context, key string) (Item, error) {
	req := &wire.Request{Op: wire.OpGet, Key: key, ReplicaOK: c.cfg.ReadFromReplicas}
	resp, err := c.do(ctx, req, "")
	if err != nil {
		return Item{}, err
	}
	return Item{Value: resp.Value, Perm: Perm(resp.Perm)}, nil
}

// PutOption changes how a put is done.
type PutOption func(*wire.Request)

// WithPerm sets the permissions of the stored key. The default is PermRW.
func WithPerm(p Perm) PutOption { return func(r *wire.Request) { r.Perm = uint8(p) } }

// WithMinReplicas makes the node answer only after n replicas applied the
// write.
func WithMinReplicas(n int) PutOption { return func(r *wire.Request) { r.MinReplicas = n } }

// Put stores value under key.
func (c *Client) Put(ctx context.Context, key string, value []byte, opts ...PutOption) error {
	_, err := c.PutAsync(ctx, key, value, opts...).Wait()
	return err
}

// PutAsync sends a put and returns at once. The future's value is the
// write's offset in the owner's log.
func (c *Client) PutAsync(ctx context.Context, key string, value []byte, opts ...PutOption) *Future[uint64] {
	if value == nil {
		value = []byte{}
	}
	req := wire.Request{Op: wire.OpPut, Key: key, Value: value, Perm: uint8(PermRW)}
	for _, o := range opts {
		o(&req)
	}
	size := int64(len(value))
	return goFuture(c, ctx, req, "", func(r *wire.Response) uint64 {
		c.known.setSize(key, size)
		return r.Offset
	})
}

// Delete removes key. Without force, deleting an immutable key fails with
// ErrReadOnly; deleting a missing key fails with ErrNotFound.
func (c *Client) Delete(ctx context.Context, key string, force bool) error {
	_, err := c.do(ctx, &wire.Request{Op: wire.OpDelete, Key: key, Force: force}, "")
	return err
}

// Stat describes keys: whether each exists, its size, permissions, slot
// and owner, in the order asked.
func (c *Client) Stat(ctx context.Context, keys ...string) ([]KeyInfo, error) {
	for attempt := 0; ; attempt++ {
		out, err := c.stat(ctx, keys)
		if !errors.Is(err, ErrMoved) || attempt >= c.cfg.MaxRetries {
			return out, err
		}
		// The keys were grouped by a stale table: learn the new one.
		if err := c.Refresh(ctx); err != nil {
			return nil, err
		}
	}
}

func (c *Client) stat(ctx context.Context, keys []string) ([]KeyInfo, error) {
	byNode := make(map[string][]int)
	for i, k := range keys {
		a := c.addrFor(k)
		byNode[a] = append(byNode[a], i)
	}
	out := make([]KeyInfo, len(keys))
	for addr, idx := range byNode {
		sub := make([]string, len(idx))
		for j, i := range idx {
			sub[j] = keys[i]
		}
		req := &wire.Request{Op: wire.OpStat, Keys: sub, ReplicaOK: c.cfg.ReadFromReplicas}
		resp, err := c.do(ctx, req, addr)
		if err != nil {
			return nil, err
		}
		if len(resp.Stats) != len(sub) {
			return nil, fmt.Errorf("stat: node %s answered %d entries for %d keys", addr, len(resp.Stats), len(sub))
		}
		for j, i := range idx {
			out[i] = resp.Stats[j]
			if out[i].Found {
				c.known.setSize(out[i].Key, out[i].Size)
			}
		}
	}
	return out, nil
}

// Ping checks that a node of the cluster answers.
func (c *Client) Ping(ctx context.Context) error {
	_, err := c.do(ctx, &wire.Request{Op: wire.OpPing}, "")
	return err
}

// ExecOptions describe an execution.
type ExecOptions struct {
	Args    []string      // argv after the key (raw) or ExecArgs.args
	Deps    []Dep         // values the lambda reads, inline or as files
	Outputs []Output      // raw mode: files stored as keys afterwards
	Raw     bool          // run an unmodified binary
	Timeout time.Duration // wall-clock limit; zero means the node's default
	Limits  *ExecLimits   // other sandbox limits; nil means the node's defaults
	// Env is, in raw mode, the lambda's environment ("GOOS=linux"); only
	// the names listed in docs/lambdas.md are accepted. In raw-mode Args
	// and Env, WorkDirArg stands for the working directory's path.
	Env []string

	// Node runs the lambda on this node, given by id or client address.
	// If blank, Placement chooses.
	Node string

	// Placement chooses the node when Node is blank. Nil means the
	// client's Config.Placement.
	Placement Placement
}

// ExecResult is what an execution returned.
type ExecResult struct {
	ReturnCode int      // the lambda's return code
	Output     []byte   // its output (raw mode: its stdout)
	Puts       []string // keys it stored
	Node       string   // id of the node that ran it
	Stderr     []byte   // raw mode: the end of its stderr
	// Stats says where the time went on the node (fetching deps, waiting,
	// running, storing) and where the deps' bytes came from; nil from a
	// node that does not report it.
	Stats *ExecStats
}

// ExecStats is an execution's breakdown, as the node reports it.
type ExecStats = wire.ExecStats

// WorkDirArg, in a raw-mode lambda's Args or Env, is replaced by the
// absolute path of its working directory (for a compiler's -trimpath).
const WorkDirArg = "@CWD@"

// Exec runs the lambda stored at key. A lambda that ran and returned a
// non-zero code is not an error; a lambda the node could not run or had to
// kill is (ErrExecFailed, ErrNotExecutable, ErrBusy, ...).
func (c *Client) Exec(ctx context.Context, key string, opts ExecOptions) (*ExecResult, error) {
	return c.ExecAsync(ctx, key, opts).Wait()
}

// ExecAsync starts an execution and returns at once.
func (c *Client) ExecAsync(ctx context.Context, key string, opts ExecOptions) *Future[*ExecResult] {
	req := wire.Request{
		Op: wire.OpExecute, Key: key, Args: opts.Args, Deps: opts.Deps,
		Outputs: opts.Outputs, Raw: opts.Raw, Timeout: opts.Timeout, Limits: opts.Limits,
		Env: opts.Env, ReplicaOK: c.cfg.ReadFromReplicas,
	}
	node := c.resolveNode(opts.Node)
	if node == "" {
		node = c.place(key, opts)
	}
	deps := opts.Deps
	f := &Future[*ExecResult]{conv: func(r *wire.Response) *ExecResult {
		c.known.ranAt(r.ExecNode, deps)
		return &ExecResult{ReturnCode: r.ReturnCode, Output: r.Output, Puts: r.Puts, Node: r.ExecNode, Stderr: r.Stderr, Stats: r.Exec}
	}}
	f.p.req = req
	f.p.prepare(c, ctx, node)
	c.known.addInflight(node, 1)
	f.p.own.onDone = func() { c.known.addInflight(node, -1) }
	f.p.send(&f.p.own)
	if f.p.cl != &f.p.own {
		c.known.addInflight(node, -1) // never sent
	}
	return f
}

// place picks the node for an execution with the configured placement.
func (c *Client) place(key string, opts ExecOptions) string {
	pl := opts.Placement
	if pl == nil {
		pl = c.cfg.Placement
	}
	rt := c.routes.Load()
	deps := opts.Deps
	if len(deps) == 0 {
		// With nothing to read, the lambda's own binary is the data.
		deps = []Dep{{Key: key}}
	}
	pc := c.known.context(rt, rt.ownerID, deps)
	if len(pc.Nodes) == 0 {
		return c.addrFor(key)
	}
	i := pl.Place(pc)
	if i < 0 || i >= len(pc.Nodes) {
		i = 0
	}
	return pc.Nodes[i].Addr
}

// resolveNode turns a node id into its client address; an address (or
// blank) is returned as is.
func (c *Client) resolveNode(node string) string {
	if node == "" || strings.Contains(node, ":") {
		return node
	}
	if a, ok := c.routes.Load().byID[node]; ok {
		return a
	}
	return node
}

// Do sends req as it is to node (a client address), or to the master of
// req.Key's slot when node is blank, and returns the node's answer; an
// answer other than OK is also returned as a *StatusError. It follows
// MOVED and TRYAGAIN like every request. It is the low-level form that
// nodes use to talk to each other; applications use the typed methods.
func (c *Client) Do(ctx context.Context, req *wire.Request, node string) (*wire.Response, error) {
	return c.do(ctx, req, node)
}
