package slots

import (
	"fmt"
	"slices"
)

// PromoteReplica returns a copy of t in which every slot of deadMaster
// that has a live replica is taken over by one of them, at epoch, and the
// moves that describe it (From is deadMaster), sorted by Start.
//
// offsets holds the replication offset of each live replica; a replica
// absent from offsets is treated as down and never chosen. For each range
// of deadMaster the replica with the highest offset wins (ties: the
// smaller id). The new master keeps the range's other replicas, live or
// not, and deadMaster is not added back: when it returns, the caller makes
// it a replica of the new master.
//
// Slots whose replicas are all down (or that have none) stay with
// deadMaster at their old epoch: the table cannot name a better owner,
// so the caller, which knows deadMaster is dead, reports them uncovered
// until it comes back. If nothing can be promoted, PromoteReplica returns
// t itself and no moves.
//
// Pass t.NextEpoch() as epoch. PromoteReplica panics if epoch is 0. It
// only reads t and offsets and is safe to call concurrently.
func PromoteReplica(t *Table, deadMaster string, offsets map[string]uint64, epoch uint64) (*Table, []Move) {
	if epoch == 0 {
		panic("slots: PromoteReplica with epoch 0")
	}
	t = orEmpty(t)
	to := make([]string, NumSlots)
	promoted := make(map[uint16]entry) // old entry -> its replacement
	for s := range NumSlots {
		id := t.idx[s]
		e := &t.ents[id]
		if e.master != deadMaster || deadMaster == "" {
			continue
		}
		ne, ok := promoted[id]
		if !ok {
			ne = promote(e, offsets, epoch)
			promoted[id] = ne
		}
		to[s] = ne.master
	}
	owner := slotOwners(t)
	moves := movesOf(owner, to)
	if len(moves) == 0 {
		return t, nil
	}
	b := builderFrom(t)
	for s, id := range t.idx {
		if to[s] != "" {
			b.t.idx[s] = b.intern(promoted[id])
		}
	}
	return b.finish(), moves
}

// promote returns the entry that replaces e, or the zero entry when no
// replica of e is live.
func promote(e *entry, offsets map[string]uint64, epoch uint64) entry {
	best := ""
	for _, r := range e.replicas { // sorted, so ties go to the smaller id
		if off, ok := offsets[r]; ok && (best == "" || off > offsets[best]) {
			best = r
		}
	}
	if best == "" {
		return entry{}
	}
	rest := slices.DeleteFunc(slices.Clone(e.replicas), func(r string) bool { return r == best })
	ne, err := newEntry(best, rest, epoch)
	if err != nil {
		panic(fmt.Sprintf("slots: PromoteReplica: %v", err)) // e was valid, so this cannot happen
	}
	return ne
}
