package peer

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/lambdakv/lambdakv/membership"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// failoverGrace is the least time the coordinator waits after a master is
// declared dead before it promotes a replica.
const failoverGrace = 250 * time.Millisecond

// failoverWait is how long the coordinator waits after a master is
// declared dead before it promotes a replica. A master that is only cut
// off loses touch with the coordinator within LeaderTimeout and stops
// taking writes IsolationTimeout later (at the next majority check); the
// majority declares it dead no sooner than the failure detector's
// shortest detection time. The wait covers the difference, so that a cut
// off master has stopped before its replica takes over. With the default
// timers it is failoverGrace.
func (p *Peer) failoverWait() time.Duration {
	if p.cfg.IsolationTimeout < 0 {
		return failoverGrace
	}
	prof := membership.LANProfile()
	if p.cfg.Membership != nil && p.cfg.Membership.Profile != (membership.Profile{}) {
		prof = p.cfg.Membership.Profile
	}
	shortest, _ := prof.DetectionTime(p.cl.ml.NumAlive())
	stops := p.cl.el.LeaderTimeout() + p.cfg.IsolationTimeout + 2*p.quorumTick()
	return max(failoverGrace, stops-shortest+failoverGrace)
}

// failoverState is the coordinator's memory of dead masters.
type failoverState struct {
	mu        sync.Mutex
	deadSince map[string]time.Time // guarded by mu: master -> first seen dead
	reported  map[string]string    // guarded by mu: master -> last reason logged
	// replicaDead: replica -> first seen dead, for dropping replicas that
	// stay dead (guarded by mu).
	replicaDead map[string]time.Time
}

// failover promotes a replica for each master that is dead: declared so by
// membership, for longer than the grace period, and seen dead by a
// majority of the masters. The replica that applied the most of the dead
// master's writes wins; the dead master becomes its replica, so that it
// follows it when it comes back.
func (p *Peer) failover(ctx context.Context) {
	t := p.cl.table.Load()
	v := p.cl.view.Load()
	fs := &p.fo
	fs.mu.Lock()
	if fs.deadSince == nil {
		fs.deadSince, fs.reported = make(map[string]time.Time), make(map[string]string)
	}
	var due []string
	for _, m := range t.Masters() {
		n, ok := v.nodes[m]
		if m == p.id || (ok && n.State != membership.StateDead.String()) {
			delete(fs.deadSince, m)
			continue
		}
		if !ok {
			continue // never seen: nothing to confirm with
		}
		since, seen := fs.deadSince[m]
		if !seen {
			fs.deadSince[m] = time.Now()
			continue
		}
		if time.Since(since) >= p.failoverWait() {
			due = append(due, m)
		}
	}
	fs.mu.Unlock()
	for _, m := range due {
		if !p.cl.el.CanAct() {
			return
		}
		p.promoteFor(ctx, m)
	}
}

// report logs why a dead master's slots stay where they are, once per
// reason.
func (p *Peer) report(master, reason string, args ...any) {
	fs := &p.fo
	fs.mu.Lock()
	again := fs.reported[master] == reason
	fs.reported[master] = reason
	fs.mu.Unlock()
	if !again {
		p.logger.Warn("not failing over dead master: "+reason, append([]any{"master", master}, args...)...)
	}
}

func (p *Peer) promoteFor(ctx context.Context, dead string) {
	if ok, agree, need := p.confirmDead(ctx, dead); !ok {
		p.report(dead, "too few masters see it dead", "agree", agree, "need", need)
		return
	}
	t := p.cl.table.Load()
	offsets := p.replicaOffsets(ctx, t, dead)
	if len(offsets) == 0 {
		p.report(dead, "no live replica to promote: its slots are UNAVAILABLE until it returns")
		return
	}
	_, elected := p.cl.el.Coordinator()
	epoch := max(t.NextEpoch(), elected<<24)
	nt, moves := slots.PromoteReplica(t, dead, offsets, epoch)
	if len(moves) == 0 {
		p.report(dead, "no live replica to promote: its slots are UNAVAILABLE until it returns")
		return
	}
	promoted := make(map[string]int)
	for _, m := range moves {
		promoted[m.To] += m.Len()
	}
	for nm := range promoted {
		var first int
		for _, m := range moves {
			if m.To == nm {
				first = m.Start
				break
			}
		}
		reps := append(slices.Clone(nt.Replicas(first)), dead)
		nt = nt.SetReplicas(nm, reps, epoch)
	}
	if !p.cl.el.CanAct() {
		return
	}
	p.mergeTable(nt, true)
	for nm, n := range promoted {
		p.logger.Info("failover: promoted a replica of a dead master", "dead", dead, "new_master", nm, "slots", n, "offset", offsets[nm], "epoch", epoch)
	}
	p.fo.mu.Lock()
	delete(p.fo.deadSince, dead)
	delete(p.fo.reported, dead)
	p.fo.mu.Unlock()
	p.metrics.failovers.Inc()
}

// confirmDead asks the other live masters whether they too see dead as
// dead; it needs a majority of the known masters, counting this node.
func (p *Peer) confirmDead(ctx context.Context, dead string) (ok bool, agree, need int) {
	live, known := p.masters()
	need = len(known)/2 + 1
	agree = 1
	pc, err := p.peerClient(ctx)
	if err != nil {
		return false, agree, need
	}
	v := p.cl.view.Load()
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, m := range live {
		n, found := v.nodes[m]
		if m == p.id || !found || n.Addr == "" {
			continue
		}
		wg.Go(func() {
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			resp, err := pc.Do(qctx, &wire.Request{Op: wire.OpTopology}, n.Addr)
			if err != nil || resp.Topology == nil {
				return
			}
			for _, o := range resp.Topology.Nodes {
				if o.ID == dead && o.State != membership.StateAlive.String() {
					mu.Lock()
					agree++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return agree >= need, agree, need
}

// replicaOffsets asks each live replica of dead's slots how far it got.
// Replicas in the middle of a full copy, or following another master, are
// left out.
func (p *Peer) replicaOffsets(ctx context.Context, t *slots.Table, dead string) map[string]uint64 {
	var cands []string
	for _, r := range t.Ranges() {
		if r.Master == dead {
			for _, id := range r.Replicas {
				if !slices.Contains(cands, id) {
					cands = append(cands, id)
				}
			}
		}
	}
	pc, err := p.peerClient(ctx)
	if err != nil {
		return nil
	}
	v := p.cl.view.Load()
	out := make(map[string]uint64)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, id := range cands {
		n, ok := v.nodes[id]
		if !ok || n.Addr == "" || n.State != membership.StateAlive.String() {
			continue
		}
		wg.Go(func() {
			qctx, cancel := context.WithTimeout(ctx, time.Second)
			defer cancel()
			resp, err := pc.Do(qctx, &wire.Request{Op: wire.OpTopology}, n.Addr)
			if err != nil || resp.Topology == nil {
				return
			}
			for _, o := range resp.Topology.Nodes {
				if o.ID == id && o.Master == dead && o.Link != linkSnapshot {
					mu.Lock()
					out[id] = o.Offset
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return out
}

// assignReplicas makes live nodes replicas where the table needs them:
// with auto set, nodes of role auto where a master has fewer than
// Replicas; else nodes of role replica, which always follow someone (the
// master with the fewest replicas), and a replica moves from the master
// with the most to the one with the fewest when they differ by two or
// more. Replicas that left the cluster are dropped from the table.
func (p *Peer) assignReplicas(auto bool) {
	t := p.cl.table.Load()
	_, elected := p.cl.el.Coordinator()
	epoch := max(t.NextEpoch(), elected<<24)
	nt := t
	for _, m := range p.cl.ml.Members() {
		if m.State == membership.StateLeft {
			nt = dropReplica(nt, m.ID, epoch)
		}
	}
	for _, id := range p.longDeadReplicas(nt) {
		p.logger.Info("dropping a replica dead for too long", "replica", id, "after", p.cfg.ReplicaForget)
		nt = dropReplica(nt, id, epoch)
	}
	for _, m := range p.cl.ml.Members() {
		role := m.Meta.Role
		if m.State != membership.StateAlive || m.Meta.Tags["leaving"] != "" || nt.SlotsOf(m.ID) > 0 || isReplica(nt, m.ID) {
			continue
		}
		var master string
		var ok bool
		switch {
		case role == RoleReplica && !auto:
			master, ok = slots.NeedsReplica(nt, slots.NumSlots)
		case role == RoleAuto && auto:
			master, ok = slots.NeedsReplica(nt, p.cfg.Replicas)
		}
		if !ok || master == m.ID {
			continue
		}
		first := firstSlotOf(nt, master)
		if first < 0 {
			continue
		}
		nt = nt.SetReplicas(master, append(slices.Clone(nt.Replicas(first)), m.ID), epoch)
		p.logger.Info("new replica", "replica", m.ID, "master", master)
	}
	if !auto {
		nt = p.spreadReplicas(nt, epoch)
	}
	if nt != t {
		p.mergeTable(nt, true)
	}
}

// spreadReplicas moves one live replica of role replica from the master
// with the most replicas to the one with the fewest, if they differ by two
// or more.
func (p *Peer) spreadReplicas(t *slots.Table, epoch uint64) *slots.Table {
	reps := make(map[string][]string)
	for _, r := range t.Ranges() {
		if r.Master != "" {
			reps[r.Master] = r.Replicas
		}
	}
	most, fewest := "", ""
	for _, m := range t.Masters() {
		if most == "" || len(reps[m]) > len(reps[most]) {
			most = m
		}
		if fewest == "" || len(reps[m]) < len(reps[fewest]) {
			fewest = m
		}
	}
	if most == "" || len(reps[most])-len(reps[fewest]) < 2 {
		return t
	}
	v := p.cl.view.Load()
	for _, id := range reps[most] {
		if n, ok := v.nodes[id]; !ok || n.State != membership.StateAlive.String() {
			continue
		}
		if m, ok := p.memberRole(id); !ok || m != RoleReplica {
			continue
		}
		t = t.SetReplicas(most, slices.DeleteFunc(slices.Clone(reps[most]), func(r string) bool { return r == id }), epoch)
		t = t.SetReplicas(fewest, append(slices.Clone(reps[fewest]), id), epoch)
		p.logger.Info("replica moves to a master with fewer", "replica", id, "from", most, "to", fewest)
		return t
	}
	return t
}

// memberRole is the role member id was started with.
func (p *Peer) memberRole(id string) (string, bool) {
	for _, m := range p.cl.ml.Members() {
		if m.ID == id {
			return m.Meta.Role, true
		}
	}
	return "", false
}

// longDeadReplicas returns the replicas in t that membership has seen dead
// for ReplicaForget or longer.
func (p *Peer) longDeadReplicas(t *slots.Table) []string {
	v := p.cl.view.Load()
	fs := &p.fo
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if fs.replicaDead == nil {
		fs.replicaDead = make(map[string]time.Time)
	}
	listed := make(map[string]bool)
	var out []string
	for _, r := range t.Ranges() {
		for _, id := range r.Replicas {
			if listed[id] {
				continue
			}
			listed[id] = true
			if n, ok := v.nodes[id]; ok && n.State != membership.StateDead.String() {
				delete(fs.replicaDead, id)
				continue
			}
			since, seen := fs.replicaDead[id]
			switch {
			case !seen:
				fs.replicaDead[id] = time.Now()
			case time.Since(since) >= p.cfg.ReplicaForget:
				out = append(out, id)
				delete(fs.replicaDead, id)
			}
		}
	}
	for id := range fs.replicaDead {
		if !listed[id] {
			delete(fs.replicaDead, id)
		}
	}
	return out
}

// dropReplica removes node from the replicas of every master.
func dropReplica(t *slots.Table, node string, epoch uint64) *slots.Table {
	for _, r := range t.Ranges() {
		if slices.Contains(r.Replicas, node) {
			t = t.SetReplicas(r.Master, slices.DeleteFunc(slices.Clone(r.Replicas), func(id string) bool { return id == node }), epoch)
		}
	}
	return t
}

func firstSlotOf(t *slots.Table, master string) int {
	for _, r := range t.Ranges() {
		if r.Master == master {
			return r.Start
		}
	}
	return -1
}
