package membership

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// eventDelegate adapts memberlist.EventDelegate: it keeps the member map
// and queues Events. memberlist calls it with its node lock held, so it
// must not call back into memberlist and must not block.
type eventDelegate struct {
	m *Membership
}

var _ memberlist.EventDelegate = (*eventDelegate)(nil)

// NotifyJoin implements memberlist.EventDelegate.
func (d *eventDelegate) NotifyJoin(n *memberlist.Node) {
	d.m.observe(n, EventJoin)
}

// NotifyUpdate implements memberlist.EventDelegate.
func (d *eventDelegate) NotifyUpdate(n *memberlist.Node) {
	d.m.observe(n, EventUpdate)
}

// NotifyLeave implements memberlist.EventDelegate. memberlist does not say
// whether the node left or failed (it never sets Node.State), so a node
// that marked itself leaving (see Leave) left, and any other failed.
func (d *eventDelegate) NotifyLeave(n *memberlist.Node) {
	d.m.observe(n, EventFail)
}

// observe records a member's new state and queues the event.
func (m *Membership) observe(n *memberlist.Node, kind EventKind) {
	if m.shut.Load() {
		return // late suspicion timers may fire after Shutdown
	}
	meta, flags, err := decodeMeta(n.Meta)
	if err != nil {
		m.logger.Warn("member metadata does not decode", "node", n.Name, "error", err)
	}
	mem := Member{ID: n.Name, Addr: n.Address(), Meta: meta, State: StateAlive, Since: time.Now()}
	if flags&flagLeaving != 0 {
		mem.State = StateLeaving
	}
	m.mu.Lock()
	if kind == EventFail {
		if prev := m.members[n.Name]; mem.State == StateLeaving || (prev != nil && prev.State == StateLeaving) {
			kind = EventLeave
		}
		mem.State = StateDead
		if kind == EventLeave {
			mem.State = StateLeft
		}
	}
	m.members[n.Name] = &mem
	m.pruneGoneLocked(mem.Since)
	m.numAlive.Store(int64(m.countAliveLocked()))
	m.mu.Unlock()
	m.logEvent(kind, &mem)
	ev := Event{Kind: kind, Member: mem}
	ev.Member.Meta = mem.Meta.clone() // the consumer owns its copy
	if m.events.push(ev) {
		m.stats.eventsCoalesced.Add(1)
	}
}

// logEvent logs another member's changes at info, updates at debug.
func (m *Membership) logEvent(kind EventKind, mem *Member) {
	if mem.ID == m.cfg.NodeID && kind != EventUpdate {
		return
	}
	if kind == EventUpdate {
		m.logger.Debug("member updated", "node", mem.ID, "addr", mem.Addr, "state", mem.State)
		return
	}
	m.logger.Info("member "+kind.String(), "node", mem.ID, "addr", mem.Addr, "role", mem.Meta.Role)
}
