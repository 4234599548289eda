package peer

import (
	"context"
	"slices"
	"time"

	"github.com/lambdakv/lambdakv/membership"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// migrateTimeout bounds one slot range's copy, asked of its source.
const migrateTimeout = 2 * time.Minute

// moveChunk is the most slots copied and flipped in one step. A slot is
// closed to writes from its copy until its flip, so smaller steps mean
// shorter TRYAGAIN windows for clients.
const moveChunk = 256

// coordinate runs one round of the coordinator's work: give uncovered
// slots to live masters and even out ownership, moving slots with their
// data. It returns at once when a round is already running.
func (p *Peer) coordinate(ctx context.Context) {
	if len(p.seeds) > 0 && (!p.cl.joined.Load() || !p.cl.synced.Load()) {
		// Told to join a cluster and has not yet, or has not merged
		// another member's table yet (a join event comes before the
		// state exchange): decide nothing, or it would assign slots that
		// the cluster has already given out, without their data.
		return
	}
	// Failover does not wait for a round of moves to end.
	p.failover(ctx)
	if !p.coordinating.CompareAndSwap(false, true) {
		return
	}
	p.assignReplicas(true)
	live := p.activeMasters()
	if len(live) == 0 {
		p.coordinating.Store(false)
		return
	}
	t := p.cl.table.Load()
	plan := slots.Plan(t, live)
	if len(plan) == 0 {
		// Replicas of role replica are placed once the masters hold
		// their shares, so that they spread over all of them.
		p.assignReplicas(false)
	}
	var assign, move []slots.Move
	for _, m := range plan {
		switch {
		case m.From == "":
			assign = append(assign, m)
		case p.reachable(m.From) && (slices.Contains(live, m.From) || p.isLeaving(m.From)):
			// A source outside live must be leaving: one that is only
			// flapping (dead a moment ago) keeps its slots.
			move = append(move, m)
		}
		// Slots of a master that died stay with it (UNAVAILABLE) until it
		// returns: moving them without their data would lose writes.
	}
	if len(assign) > 0 {
		p.flip(assign)
	}
	if len(move) == 0 {
		p.coordinating.Store(false)
		return
	}
	p.goFunc(func() {
		defer p.coordinating.Store(false)
		p.runMoves(ctx, move)
	})
}

// activeMasters are the live masters that are not leaving.
func (p *Peer) activeMasters() []string {
	var out []string
	t := p.cl.table.Load()
	for _, m := range p.cl.ml.Members() {
		if (canMaster(m.Meta.Role) || t.SlotsOf(m.ID) > 0) && m.State == membership.StateAlive && m.Meta.Tags["leaving"] == "" && !isReplica(t, m.ID) {
			out = append(out, m.ID)
		}
	}
	if (p.masterCapable() || t.SlotsOf(p.id) > 0) && !isReplica(t, p.id) && !p.leaving.Load() && !slices.Contains(out, p.id) {
		out = append(out, p.id)
	}
	slices.Sort(out)
	return out
}

// isLeaving reports whether node announced that it is leaving.
func (p *Peer) isLeaving(node string) bool {
	if node == p.id {
		return p.leaving.Load()
	}
	m, ok := p.cl.ml.Member(node)
	return ok && (m.State == membership.StateLeaving || m.Meta.Tags["leaving"] != "")
}

// reachable reports whether node is a member that can still answer.
func (p *Peer) reachable(node string) bool {
	n, ok := p.cl.view.Load().nodes[node]
	return ok && n.Addr != "" && (n.State == membership.StateAlive.String() || n.State == membership.StateLeaving.String())
}

// flip publishes moves in the table at a new epoch. The epoch is above
// any an earlier coordinator could have used (its election epoch is in the
// high bits), so a newer coordinator's decision always wins a merge.
func (p *Peer) flip(moves []slots.Move) {
	t := p.cl.table.Load()
	_, elected := p.cl.el.Coordinator()
	epoch := max(t.NextEpoch(), elected<<24)
	p.mergeTable(slots.Apply(t, moves, epoch), true)
}

// rangeEpoch is the highest epoch over slots start..end in t.
func rangeEpoch(t *slots.Table, start, end int) uint64 {
	var e uint64
	for s := start; s <= end; s++ {
		_, se := t.Owner(s)
		e = max(e, se)
	}
	return e
}

// runMoves asks each move's source to copy its slots, and flips each one
// that was copied. It stops at the first failure or when this node stops
// being the coordinator; the next round plans again.
func (p *Peer) runMoves(ctx context.Context, moves []slots.Move) {
	pc, err := p.peerClient(ctx)
	if err != nil {
		p.logger.Warn("coordinator cannot reach the cluster", "error", err)
		return
	}
	steps := chunked(moves)
	left := 0
	for _, m := range steps {
		left += m.End - m.Start + 1
	}
	p.cl.pending.Store(int64(left))
	defer p.cl.pending.Store(0)
	for _, m := range steps {
		if !p.cl.el.CanAct() {
			return
		}
		src, ok := p.cl.view.Load().nodes[m.From]
		if !ok {
			return
		}
		p.logger.Info("moving slots", "start", m.Start, "end", m.End, "from", m.From, "to", m.To)
		mctx, cancel := context.WithTimeout(ctx, migrateTimeout)
		epoch := rangeEpoch(p.cl.table.Load(), m.Start, m.End)
		_, err := pc.Do(mctx, &wire.Request{Op: wire.OpMigrate, SlotStart: m.Start, SlotEnd: m.End, Target: m.To, Epoch: epoch}, src.Addr)
		cancel()
		if err != nil {
			p.logger.Warn("slot move failed; will plan again", "start", m.Start, "end", m.End, "from", m.From, "to", m.To, "error", err)
			return
		}
		if !p.cl.el.CanAct() {
			return // the source keeps the slots closed until it times out
		}
		p.flip([]slots.Move{m})
		p.cl.pending.Add(-int64(m.End - m.Start + 1))
	}
}

// chunked splits moves into steps of at most moveChunk slots.
func chunked(moves []slots.Move) []slots.Move {
	var out []slots.Move
	for _, m := range moves {
		for s := m.Start; s <= m.End; s += moveChunk {
			c := m
			c.Start, c.End = s, min(s+moveChunk-1, m.End)
			out = append(out, c)
		}
	}
	return out
}
