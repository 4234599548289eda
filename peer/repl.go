package peer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
	"github.com/lambdakv/lambdakv/store"
)

// Replication. A replica pulls: it sends sync requests to its master with
// the history and offset it has applied, and the master answers with the
// log entries after that offset, holding the request up to syncWait while
// there are none. The offset in each request is also the replica's
// acknowledgement, which puts with min_replicas wait for. A replica that
// the master's log cannot bring up to date (another history, or entries
// pruned) takes a full copy in pages, then streams from the offset at
// which the copy started.

const (
	syncWait      = time.Second // how long a master holds a sync with nothing to send
	syncPageBytes = 4 << 20     // values per sync answer, at least one entry
	syncRetry     = 200 * time.Millisecond
)

// Replication links, as a replica reports them.
const (
	linkConnecting = "connecting"
	linkSnapshot   = "snapshot"
	linkStreaming  = "streaming"
)

// replication is the node's state as a master (acks of its replicas) and
// as a replica (the master it follows and how far behind it is).
type replication struct {
	mu    sync.Mutex
	acks  map[string]uint64    // guarded by mu: replica id -> offset it applied
	fresh map[string]time.Time // guarded by mu: replica id -> when it last had every write
	acked chan struct{}        // guarded by mu: closed and replaced on each ack

	// Replica side, guarded by mu.
	master    string    // the master followed; "" when not a replica
	link      string    // linkConnecting, linkSnapshot or linkStreaming
	masterOff uint64    // the master's offset at its last answer
	caughtUp  time.Time // when this replica last had every write of its master

	// following is set while a follower goroutine may still apply its
	// master's writes: the node takes no writes of its own meanwhile.
	following atomic.Bool
	kick      chan struct{} // the slot table changed: look again whom to follow
}

func (rp *replication) init() {
	rp.acks = make(map[string]uint64)
	rp.fresh = make(map[string]time.Time)
	rp.acked = make(chan struct{})
	rp.kick = make(chan struct{}, 1)
}

// noteTable wakes the replica loop after a table change.
func (rp *replication) noteTable() {
	select {
	case rp.kick <- struct{}{}:
	default:
	}
}

// sync answers a replica's sync request.
func (p *Peer) sync(ctx context.Context, req *wire.Request, r *reply) error {
	if req.Node == "" {
		return errorf(wire.StatusBadRequest, "sync without the replica's node id")
	}
	if p.repl.following.Load() {
		return errorf(wire.StatusUnavailable, "node %s is a replica, not a master", p.id)
	}
	h, cur := p.store.History(), p.store.Offset()
	if h.Continues(req.ReplID, req.Offset, cur) {
		p.noteAck(req.Node, req.Offset)
	}
	r.resp.ReplID = h.ID
	if req.Snapshot {
		recs, more, err := p.store.ScanAfter(req.Key, syncPageBytes)
		if err != nil {
			return err
		}
		r.resp.Records = make([]wire.Record, len(recs))
		for i, rec := range recs {
			r.resp.Records[i] = wire.Record{Key: rec.Key, Value: rec.Value, Perm: uint8(rec.Perm), Offset: rec.Offset}
		}
		r.resp.More, r.resp.Offset = more, cur
		return nil
	}
	if !h.Continues(req.ReplID, req.Offset, cur) {
		r.resp.FullSync, r.resp.Offset = true, cur
		return nil
	}
	wait := min(req.Wait, 5*time.Second)
	var timer <-chan time.Time
	for {
		changed := p.store.Changed()
		entries, last, err := p.store.ReadLog(req.Offset, syncPageBytes)
		if errors.Is(err, store.ErrLogGap) {
			r.resp.FullSync, r.resp.Offset = true, p.store.Offset()
			return nil
		}
		if err != nil {
			return err
		}
		if len(entries) > 0 || wait <= 0 {
			r.resp.Entries = toWireEntries(entries)
			r.resp.Offset = last
			return nil
		}
		if timer == nil {
			t := time.NewTimer(wait)
			defer t.Stop()
			timer = t.C
		}
		select {
		case <-changed:
		case <-timer:
			wait = 0
		case <-ctx.Done():
			return ctx.Err()
		case <-p.shutdownCh:
			wait = 0
		}
	}
}

func toWireEntries(es []store.LogEntry) []wire.Entry {
	out := make([]wire.Entry, len(es))
	for i, e := range es {
		out[i] = wire.Entry{Offset: e.Offset, Kind: e.Kind, Key: e.Key, Value: e.Value, Perm: uint8(e.Perm), Slot: int(e.Slot)}
	}
	return out
}

func fromWireEntries(es []wire.Entry) ([]store.LogEntry, error) {
	out := make([]store.LogEntry, len(es))
	for i, e := range es {
		if e.Slot < 0 || e.Slot >= slots.NumSlots {
			return nil, fmt.Errorf("log entry %d: slot %d out of range", e.Offset, e.Slot)
		}
		out[i] = store.LogEntry{Offset: e.Offset, Kind: e.Kind, Key: e.Key, Value: e.Value, Perm: store.Perm(e.Perm), Slot: uint16(e.Slot)}
	}
	return out, nil
}

// noteAck records that replica applied everything up to off.
func (p *Peer) noteAck(replica string, off uint64) {
	rp := &p.repl
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if off >= p.store.Offset() {
		rp.fresh[replica] = time.Now()
	}
	if off <= rp.acks[replica] {
		return
	}
	rp.acks[replica] = off
	close(rp.acked)
	rp.acked = make(chan struct{})
}

// waitReplicas waits until n of the replicas of slot have applied the
// write at off, or the node's ack timeout.
func (p *Peer) waitReplicas(ctx context.Context, slot int, off uint64, n int) error {
	timer := time.NewTimer(p.cfg.ReplicaAckTimeout)
	defer timer.Stop()
	for {
		replicas := p.cl.table.Load().Replicas(slot)
		p.repl.mu.Lock()
		got := 0
		for _, id := range replicas {
			if p.repl.acks[id] >= off {
				got++
			}
		}
		acked := p.repl.acked
		p.repl.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-acked:
		case <-timer.C:
			return errorf(wire.StatusTimeout, "stored on the master, but only %d of the %d replicas asked for applied it within %s", got, n, p.cfg.ReplicaAckTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// replicaLoop follows the master the slot table names for this node, and
// stops following when the node becomes a master itself (promotion) or
// the table names another master.
func (p *Peer) replicaLoop() {
	var (
		cur    string
		cancel context.CancelFunc
		done   chan struct{}
	)
	stop := func() {
		if cancel != nil {
			cancel()
			<-done
			cancel, done = nil, nil
		}
		cur = ""
	}
	defer stop()
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	for {
		t := p.cl.table.Load()
		master, ok := t.ReplicaOf(p.id)
		if t.SlotsOf(p.id) > 0 {
			ok = false // a master now: promoted, or never a replica
		}
		if !ok {
			master = ""
		}
		if master != cur {
			wasFollowing := cur != ""
			stop()
			if wasFollowing && master == "" && t.SlotsOf(p.id) > 0 {
				p.promoted()
			}
			p.setFollowing(master)
			if master != "" {
				cur = master
				ctx, c := context.WithCancel(p.stopCtx)
				cancel, done = c, make(chan struct{})
				p.repl.following.Store(true)
				go func() {
					defer close(done)
					p.follow(ctx, master)
				}()
			} else {
				p.repl.following.Store(false)
			}
		}
		select {
		case <-p.repl.kick:
		case <-tick.C:
		case <-p.shutdownCh:
			return
		}
	}
}

// promoted starts a new history for the writes this node now takes as a
// master; the replicas it inherits go on from its old one.
func (p *Peer) promoted() {
	h, err := p.store.NewHistory(p.stopCtx)
	if err != nil {
		p.logger.Error("could not start a new history after promotion", "error", err)
		return
	}
	p.logger.Info("now a master: taking writes", "offset", p.store.Offset(), "history", h.ID, "continues", h.PrevID)
}

func (p *Peer) setFollowing(master string) {
	rp := &p.repl
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.master != master && master != "" {
		p.logger.Info("following a master", "master", master)
	}
	rp.master, rp.link = master, linkConnecting
}

// follow streams from master until ctx ends.
func (p *Peer) follow(ctx context.Context, master string) {
	for ctx.Err() == nil {
		err := p.syncOnce(ctx, master)
		if err == nil {
			continue
		}
		p.setLink(linkConnecting)
		if ctx.Err() == nil {
			p.logger.Debug("sync with master failed", "master", master, "error", err)
		}
		select {
		case <-ctx.Done():
		case <-time.After(syncRetry):
		}
	}
}

func (p *Peer) setLink(link string) {
	p.repl.mu.Lock()
	p.repl.link = link
	p.repl.mu.Unlock()
}

// syncOnce asks master for what this node lacks and applies it.
func (p *Peer) syncOnce(ctx context.Context, master string) error {
	n, ok := p.cl.view.Load().nodes[master]
	if !ok || n.Addr == "" {
		return fmt.Errorf("master %s: address unknown", master)
	}
	pc, err := p.peerClient(ctx)
	if err != nil {
		return err
	}
	h, off := p.store.History(), p.store.Offset()
	rctx, cancel := context.WithTimeout(ctx, syncWait+10*time.Second)
	defer cancel()
	resp, err := pc.Do(rctx, &wire.Request{Op: wire.OpSync, Node: p.id, ReplID: h.ID, Offset: off, Wait: syncWait}, n.Addr)
	if err != nil {
		return err
	}
	if resp.FullSync {
		return p.fullCopy(ctx, pc, n.Addr, resp.ReplID, resp.Offset)
	}
	if resp.ReplID != h.ID {
		// The master continued this node's history under a new id (it
		// was promoted): adopt it, remembering where the two part.
		if err := p.store.SetHistory(ctx, store.History{ID: resp.ReplID, PrevID: h.ID, PrevOffset: off}, off); err != nil {
			return err
		}
	}
	entries, err := fromWireEntries(resp.Entries)
	if err != nil {
		return err
	}
	if err := p.store.Apply(ctx, entries); err != nil {
		return err
	}
	p.noteMaster(resp.Offset)
	return nil
}

// noteMaster records the master's offset after an answer was applied.
func (p *Peer) noteMaster(masterOff uint64) {
	rp := &p.repl
	rp.mu.Lock()
	defer rp.mu.Unlock()
	rp.masterOff, rp.link = masterOff, linkStreaming
	if p.store.Offset() >= masterOff {
		rp.caughtUp = time.Now()
	}
}

// fullCopy replaces this node's data with a copy of the master's, taken
// from offset start of history id on.
func (p *Peer) fullCopy(ctx context.Context, pc *client.Client, addr, id string, start uint64) error {
	p.setLink(linkSnapshot)
	p.logger.Info("taking a full copy from the master", "offset", start)
	began := time.Now()
	if err := p.store.Reset(ctx); err != nil {
		return err
	}
	after, keys := "", 0
	for {
		rctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		resp, err := pc.Do(rctx, &wire.Request{Op: wire.OpSync, Node: p.id, Snapshot: true, Key: after}, addr)
		cancel()
		if err != nil {
			return err
		}
		if resp.ReplID != id {
			return fmt.Errorf("the master's history changed during the copy")
		}
		recs := make([]store.Record, len(resp.Records))
		for i, r := range resp.Records {
			recs[i] = store.Record{Key: r.Key, Value: r.Value, Perm: store.Perm(r.Perm), Offset: r.Offset}
		}
		if err := p.store.Load(ctx, recs); err != nil {
			return err
		}
		keys += len(recs)
		if !resp.More || len(recs) == 0 {
			break
		}
		after = recs[len(recs)-1].Key
	}
	if err := p.store.SetHistory(ctx, store.History{ID: id}, start); err != nil {
		return err
	}
	p.logger.Info("full copy loaded", "keys", keys, "offset", start, "took", time.Since(began).Round(time.Millisecond))
	p.setLink(linkConnecting)
	return nil
}

// replicaInfo fills in what this node knows of its own replication.
func (p *Peer) replicaInfo(n *wire.NodeInfo) {
	rp := &p.repl
	rp.mu.Lock()
	defer rp.mu.Unlock()
	if rp.master == "" {
		return
	}
	n.Role, n.Master, n.Link = RoleReplica, rp.master, rp.link
	if p.store.History().ID == "" {
		n.Link = linkSnapshot
	}
	off := p.store.Offset()
	if rp.masterOff > off {
		n.Lag = rp.masterOff - off
	}
	switch {
	case rp.caughtUp.IsZero():
		n.LagMillis = -1
	case n.Lag > 0 || rp.link != linkStreaming:
		n.LagMillis = time.Since(rp.caughtUp).Milliseconds()
	}
}

// replicaLag fills in, on a master, how far behind it replica n is, from
// its acknowledgements: the master's view, which sees the writes taken
// since the replica's last request.
func (p *Peer) replicaLag(n *wire.NodeInfo) {
	rp := &p.repl
	rp.mu.Lock()
	defer rp.mu.Unlock()
	ack, ok := rp.acks[n.ID]
	if !ok {
		return
	}
	if cur := p.store.Offset(); cur > ack {
		n.Lag = cur - ack
		if t, ok := rp.fresh[n.ID]; ok {
			n.LagMillis = time.Since(t).Milliseconds()
		}
	} else {
		n.Lag, n.LagMillis = 0, 0
	}
}

// replicaServes reports whether this node may answer a read of slot as a
// replica: the client allows it, the table lists this node as a replica
// of the slot, and it holds a complete copy.
func (p *Peer) replicaServes(t *slots.Table, slot int) bool {
	return slices.Contains(t.Replicas(slot), p.id) && p.store.History().ID != ""
}
