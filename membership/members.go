package membership

import (
	"github.com/hashicorp/memberlist"

	"slices"
	"strings"
	"sync/atomic"
	"time"
)

// counters are the monotonic figures of Stats.
type counters struct {
	eventsCoalesced atomic.Uint64
	statesReceived  atomic.Uint64
	statePulls      atomic.Uint64
	rejoins         atomic.Uint64
	rejoinFailures  atomic.Uint64
	messagesDropped atomic.Uint64
}

// Members returns a snapshot of the members, sorted by ID: the live ones
// (StateAlive, StateLeaving; this node included once started) and the
// recently gone ones (StateDead, StateLeft), at most GoneLimit of them and
// none older than GoneRetention.
func (m *Membership) Members() []Member {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.pruneGoneLocked(time.Now())
	out := make([]Member, 0, len(m.members))
	for _, mem := range m.members {
		c := *mem
		c.Meta = c.Meta.clone()
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Member) int { return strings.Compare(a.ID, b.ID) })
	return out
}

// Member returns the member with the given id, and whether it is known.
func (m *Membership) Member(id string) (Member, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	mem, ok := m.members[id]
	if !ok {
		return Member{}, false
	}
	c := *mem
	c.Meta = c.Meta.clone()
	return c, true
}

// NumAlive returns how many members are alive or leaving, this node
// included.
func (m *Membership) NumAlive() int { return int(m.numAlive.Load()) }

// Stats are figures for metrics and tests. Counts are since New.
type Stats struct {
	Alive            int    // members alive or leaving, this node included
	Gone             int    // remembered dead or left members
	EventsCoalesced  uint64 // events replaced by a newer one before delivery
	BroadcastsQueued int    // state broadcasts waiting to be gossiped
	StatesReceived   uint64 // state broadcasts merged from other nodes
	StatePulls       uint64 // push/pulls made for broadcasts too large to gossip
	Rejoins          uint64 // successful joins made by the rejoin loop
	RejoinFailures   uint64 // failed joins made by the rejoin loop
	MessagesDropped  uint64 // received messages that did not decode
	HealthScore      int    // memberlist's local health (0 is healthy)
}

// Stats returns current figures.
func (m *Membership) Stats() Stats {
	s := Stats{
		Alive:            m.NumAlive(),
		EventsCoalesced:  m.stats.eventsCoalesced.Load(),
		BroadcastsQueued: m.broadcasts.NumQueued(),
		StatesReceived:   m.stats.statesReceived.Load(),
		StatePulls:       m.stats.statePulls.Load(),
		Rejoins:          m.stats.rejoins.Load(),
		RejoinFailures:   m.stats.rejoinFailures.Load(),
		MessagesDropped:  m.stats.messagesDropped.Load(),
	}
	if ml := m.ml.Load(); ml != nil {
		s.HealthScore = ml.GetHealthScore()
	}
	m.mu.Lock()
	for _, mem := range m.members {
		if mem.State.Gone() {
			s.Gone++
		}
	}
	m.mu.Unlock()
	return s
}

// countAliveLocked counts the members alive or leaving.
func (m *Membership) countAliveLocked() int {
	n := 0
	for _, mem := range m.members {
		if !mem.State.Gone() {
			n++
		}
	}
	return n
}

// pruneGoneLocked forgets gone members older than GoneRetention and the
// oldest beyond GoneLimit.
func (m *Membership) pruneGoneLocked(now time.Time) {
	var gone []*Member
	for id, mem := range m.members {
		if !mem.State.Gone() {
			continue
		}
		if now.Sub(mem.Since) > m.cfg.GoneRetention {
			m.forgetLocked(id)
			continue
		}
		gone = append(gone, mem)
	}
	for len(gone) > m.cfg.GoneLimit {
		oldest := 0
		for i, mem := range gone {
			if mem.Since.Before(gone[oldest].Since) {
				oldest = i
			}
		}
		m.forgetLocked(gone[oldest].ID)
		gone = append(gone[:oldest], gone[oldest+1:]...)
	}
}

// forgetLocked drops a member and what we remember of its broadcasts.
func (m *Membership) forgetLocked(id string) {
	delete(m.members, id)
	delete(m.seen, id)
}

// Suspects returns the ids of the members the failure detector suspects
// now: they missed their probes and are declared dead soon unless they
// refute it. A node cut off from the others suspects them seconds before
// it declares them dead.
func (m *Membership) Suspects() []string {
	ml, err := m.running()
	if err != nil {
		return nil
	}
	var out []string
	for _, n := range ml.Members() {
		if n.State == memberlist.StateSuspect {
			out = append(out, n.Name)
		}
	}
	return out
}
