package peer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
	"github.com/lambdakv/lambdakv/store"
)

// dispatch runs the request the reader just decoded: reads inline, writes
// and executions in their own goroutine. It returns false when the
// connection is done.
func (c *conn) dispatch(dec *wire.Decoder, req *wire.Request) bool {
	r := c.pending
	c.pending = nil
	switch req.Op {
	case wire.OpGet:
		return c.serveGets(dec, req, r)
	case wire.OpPing:
		c.reply(r)
	case wire.OpHello:
		c.reply(c.p.hello(req, r))
	case wire.OpStat:
		c.reply(c.p.stat(req, r))
	case wire.OpTopology:
		r.resp.Topology = c.p.topology()
		c.reply(r)
	default:
		c.goHandle(req, r)
	}
	return true
}

// goHandle runs a write or an execution in its own goroutine, counted by
// the connection so the reader waits for it before closing.
func (c *conn) goHandle(req *wire.Request, r *reply) {
	rq := *req
	record := c.record
	c.record = nil
	if r.held == 0 {
		// The frame is borrowed from the read buffer and the handler
		// outlives it: copy what aliases it.
		r.held = detach(&rq)
		c.held.Add(r.held)
	}
	c.handlers.Add(1)
	go func() {
		defer c.handlers.Done()
		c.send(c.p.handle(c.ctx, &rq, record, r))
	}()
}

// detach copies the byte fields of req that alias its frame and returns
// how many bytes it copied.
func detach(req *wire.Request) int64 {
	n := len(req.Value)
	if req.Value != nil {
		req.Value = append(make([]byte, 0, len(req.Value)), req.Value...)
	}
	if req.Records != nil {
		recs := make([]wire.Record, len(req.Records))
		for i, r := range req.Records {
			r.Value = append(make([]byte, 0, len(r.Value)), r.Value...)
			n += len(r.Value)
			recs[i] = r
		}
		req.Records = recs
	}
	return int64(n)
}

// serveGets answers req and every further get the client has already
// pipelined (whole frames in the read buffer) in one read transaction. A
// request that is not a get ends the batch and is dispatched after it.
// Replies are written after the transaction ends, so a slow client never
// holds a read transaction open.
func (c *conn) serveGets(dec *wire.Decoder, req *wire.Request, r *reply) bool {
	batch := c.batch[:0]
	done, other := false, false
	err := c.p.store.View(func(tx *store.ReadTx) error {
		c.p.get(tx, req, r)
		batch = append(batch, r)
		for len(batch) < maxGetBatch && c.fr.HasFrame() && c.tryAcquire() {
			er, ok := c.readRequest(dec, req)
			switch {
			case !ok:
				done = true
				return nil
			case er != nil:
				batch = append(batch, er)
				if er.closeAfter {
					done = true
					return nil
				}
				continue
			case req.Op != wire.OpGet:
				other = true
				return nil
			}
			r = c.pending
			c.pending = nil
			c.p.get(tx, req, r)
			batch = append(batch, r)
		}
		return nil
	})
	if err != nil && len(batch) == 0 {
		setError(r, err)
		batch = append(batch, r)
	}
	for i, br := range batch {
		c.emit(br, i == len(batch)-1 && !other && !c.fr.HasFrame())
	}
	clear(batch)
	c.batch = batch
	switch {
	case done:
		return false
	case other:
		return c.dispatch(dec, req)
	}
	return true
}

// get answers one get inside a read transaction.
func (p *Peer) get(tx *store.ReadTx, req *wire.Request, r *reply) {
	if err := store.ValidateKey(req.Key); err != nil {
		setError(r, err)
		return
	}
	if !p.routeRead(req.Key, req.ReplicaOK, r) {
		return
	}
	v, perm, err := tx.Get(req.Key)
	if err != nil {
		setError(r, err)
		return
	}
	// Copy out: the value aliases the store's memory map, valid only
	// inside the transaction, and the writer encodes it later.
	r.resp.Value = append(make([]byte, 0, len(v)), v...)
	r.resp.Perm = uint8(perm)
}

// handle runs a request that may block: put, delete, execute. record, if
// not nil, is a put's value with room for the store's header in front.
func (p *Peer) handle(ctx context.Context, req *wire.Request, record []byte, r *reply) *reply {
	switch req.Op {
	case wire.OpPut:
		p.put(ctx, req, record, r)
	case wire.OpDelete:
		p.delete(ctx, req, r)
	case wire.OpExecute:
		p.execute(ctx, req, r)
	case wire.OpMigrate:
		if err := p.migrate(ctx, req); err != nil {
			setError(r, err)
		}
	case wire.OpImport:
		if err := p.importSlot(ctx, req); err != nil {
			setError(r, err)
		}
	case wire.OpSync:
		if err := p.sync(ctx, req, r); err != nil {
			setError(r, err)
		}
	default:
		r.resp.Status = wire.StatusBadRequest
		r.resp.Error = fmt.Sprintf("op %s not served here", req.Op)
	}
	return r
}

func (p *Peer) put(ctx context.Context, req *wire.Request, record []byte, r *reply) {
	if err := store.ValidateKey(req.Key); err != nil {
		setError(r, err)
		return
	}
	if !p.route(req.Key, r) {
		return
	}
	slot := int(slots.KeySlot(req.Key))
	if n := len(p.cl.table.Load().Replicas(slot)); req.MinReplicas > n {
		r.resp.Status = wire.StatusUnavailable
		r.resp.Error = fmt.Sprintf("min_replicas %d: slot %d has %d replicas", req.MinReplicas, slot, n)
		return
	}
	if !p.enterSlot(req.Key, slot, r) {
		return
	}
	exited := false
	defer func() {
		if !exited {
			p.cl.gates.exit(slot)
		}
	}()
	var off uint64
	var err error
	if record != nil {
		off, err = p.store.PutBuffer(ctx, req.Key, record, store.Perm(req.Perm))
	} else {
		off, err = p.store.Put(ctx, req.Key, req.Value, store.Perm(req.Perm))
	}
	if err != nil {
		setError(r, err)
		return
	}
	r.resp.Offset = off
	if req.MinReplicas > 0 {
		// Out of the gate first: a slot move must not wait for replicas.
		p.cl.gates.exit(slot)
		exited = true
		if err := p.waitReplicas(ctx, slot, off, req.MinReplicas); err != nil {
			setError(r, err)
		}
	}
}

func (p *Peer) delete(ctx context.Context, req *wire.Request, r *reply) {
	if err := store.ValidateKey(req.Key); err != nil {
		setError(r, err)
		return
	}
	if !p.route(req.Key, r) {
		return
	}
	slot := int(slots.KeySlot(req.Key))
	if !p.enterSlot(req.Key, slot, r) {
		return
	}
	defer p.cl.gates.exit(slot)
	var perm store.Perm
	if req.Force {
		_, perm, _ = p.store.Stat(req.Key)
	}
	off, err := p.store.Delete(ctx, req.Key, req.Force)
	if err != nil {
		setError(r, err)
		return
	}
	if req.Force && !perm.Writable() {
		// Other nodes may cache this immutable value: tell them to drop it.
		p.broadcastEvict(req.Key)
	}
	r.resp.Offset = off
}

// enterSlot admits a write to slot through its gate and checks, once
// inside, that this node still masters it: a move may have completed
// between the first check and the gate. It fills r and returns false if
// the write cannot go here.
func (p *Peer) enterSlot(key string, slot int, r *reply) bool {
	if !p.cl.gates.enter(slot) {
		setError(r, errorf(wire.StatusTryAgain, "slot %d is moving to another node", slot))
		return false
	}
	if !p.route(key, r) {
		p.cl.gates.exit(slot)
		return false
	}
	if err := p.writable(); err != nil {
		p.cl.gates.exit(slot)
		setError(r, err)
		return false
	}
	return true
}

// writable refuses writes on a master that has been cut off from the
// majority of the masters for longer than IsolationTimeout while it has
// replicas: the majority may have promoted one of them already, and a
// write taken here would be lost.
func (p *Peer) writable() error {
	if p.cfg.IsolationTimeout < 0 || p.cl.ml == nil {
		return nil
	}
	since := time.Duration(time.Now().UnixNano() - p.cl.majorityAt.Load())
	if since <= p.cfg.IsolationTimeout || !p.hasReplicas() {
		return nil
	}
	return errorf(wire.StatusUnavailable, "this master has not seen a majority of the masters for %s: it takes no writes, since one of its replicas may have replaced it", since.Round(100*time.Millisecond))
}

// hasReplicas reports whether the table lists replicas for any slot of
// this node.
func (p *Peer) hasReplicas() bool {
	t := p.cl.table.Load()
	for _, r := range t.Ranges() {
		if r.Master == p.id && len(r.Replicas) > 0 {
			return true
		}
	}
	return false
}

func (p *Peer) hello(req *wire.Request, r *reply) *reply {
	if req.Proto != 0 && req.Proto != wire.ProtocolVersion {
		r.resp.Status = wire.StatusBadRequest
		r.resp.Error = fmt.Sprintf("protocol version %d not supported (this node speaks %d)", req.Proto, wire.ProtocolVersion)
		return r
	}
	r.resp.NodeID = p.id
	r.resp.Version = p.cfg.Version
	r.resp.Proto = wire.ProtocolVersion
	return r
}

func (p *Peer) stat(req *wire.Request, r *reply) *reply {
	for _, k := range req.Keys {
		if err := store.ValidateKey(k); err != nil {
			setError(r, err)
			return r
		}
	}
	entries := make([]wire.StatEntry, len(req.Keys))
	routed := true
	err := p.store.View(func(tx *store.ReadTx) error {
		// Route inside the read snapshot: a slot dropped after a move
		// must not read as a missing key.
		for _, k := range req.Keys {
			if !p.routeRead(k, req.ReplicaOK, r) {
				routed = false
				return nil
			}
		}
		t := p.cl.table.Load()
		for i, k := range req.Keys {
			e := &entries[i]
			e.Key, e.Slot = k, int(slots.KeySlot(k))
			e.Owner, e.Addr = p.id, p.addr
			if owner, _ := t.Owner(e.Slot); owner != p.id {
				e.Owner, e.Addr = owner, p.cl.view.Load().nodes[owner].Addr
			}
			size, perm, err := tx.Stat(k)
			switch {
			case err == nil:
				e.Found, e.Size, e.Perm = true, size, uint8(perm)
			case !errors.Is(err, store.ErrNotFound):
				return err
			}
		}
		return nil
	})
	if err != nil {
		setError(r, err)
		return r
	}
	if !routed {
		return r
	}
	r.resp.Stats = entries
	return r
}

// setError sets the status and message for err.
func setError(r *reply, err error) {
	r.resp.Status = statusOf(err)
	r.resp.Error = err.Error()
}

// statusOf maps an error to the status a client sees.
func statusOf(err error) wire.Status {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return wire.StatusNotFound
	case errors.Is(err, store.ErrReadOnly):
		return wire.StatusReadOnly
	case errors.Is(err, store.ErrPermRequired), errors.Is(err, store.ErrBadPerm), errors.Is(err, store.ErrBadKey):
		return wire.StatusBadRequest
	case errors.Is(err, store.ErrValueTooLarge):
		return wire.StatusTooLarge
	case errors.Is(err, store.ErrClosed), errors.Is(err, context.Canceled):
		return wire.StatusUnavailable
	case errors.Is(err, context.DeadlineExceeded):
		return wire.StatusTimeout
	}
	var se statusError
	if errors.As(err, &se) {
		return se.status
	}
	return wire.StatusInternal
}

// statusError carries a status for errors that do not come from the store.
type statusError struct {
	status wire.Status
	msg    string
}

func (e statusError) Error() string { return e.msg }

func errorf(status wire.Status, format string, args ...any) error {
	return statusError{status: status, msg: fmt.Sprintf(format, args...)}
}
