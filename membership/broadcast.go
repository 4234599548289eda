package membership

import (
	"github.com/hashicorp/memberlist"
)

// broadcast is one queued state broadcast. It is named by its origin, so
// a newer state from a node replaces an older one still in the queue.
type broadcast struct {
	origin string
	msg    []byte // an encoded msgState or msgStateHint envelope
}

var _ memberlist.NamedBroadcast = (*broadcast)(nil)

// Invalidates implements memberlist.Broadcast; the queue uses Name instead.
func (b *broadcast) Invalidates(memberlist.Broadcast) bool { return false }

// Message implements memberlist.Broadcast.
func (b *broadcast) Message() []byte { return b.msg }

// Finished implements memberlist.Broadcast.
func (b *broadcast) Finished() {}

// Name implements memberlist.NamedBroadcast.
func (b *broadcast) Name() string { return "state/" + b.origin }

// maxBroadcastSize is the largest state that fits in one gossip packet:
// memberlist's UDP budget less its label, encryption and compound headers,
// and our envelope.
func maxBroadcastSize(c *memberlist.Config, nodeID string) int {
	n := c.UDPBufferSize - 2 /* compound header */ - 2 /* per message */ - 1 /* user message type */
	if c.Label != "" {
		n -= 2 + len(c.Label)
	}
	if len(c.SecretKey) > 0 {
		n -= 45 // the larger of memberlist's two encryption overheads
	}
	// Relayed broadcasts carry their origin's id; allow for the longest.
	return n - envelopeOverhead(nodeID) - (MaxNodeIDLen - len(nodeID))
}

// MaxBroadcastSize returns the largest state Broadcast gossips inline
// (about 1.2 KiB with memberlist's 1400-byte UDP budget); larger ones are
// pulled (see Broadcast). It is 0 before Start.
func (m *Membership) MaxBroadcastSize() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.maxBroadcast
}

// Broadcast spreads state, this node's new State (the same kind of bytes
// as its LocalState), to every node's State.MergeRemoteState. It returns at
// once; the broadcast is gossiped in the background.
//
// Every node that receives a broadcast merges it and gossips it on, so it
// spreads epidemically in a few GossipIntervals. A newer Broadcast from a
// node replaces its older ones: in the queues, and at receivers, which
// ignore a broadcast older than one they merged. A state larger than
// MaxBroadcastSize does not fit in a gossip packet: a small notice is
// gossiped instead, and each node that gets it pulls the state from this
// node by a push/pull over TCP. Either way, the periodic push/pull brings
// any node that missed a broadcast up to date.
func (m *Membership) Broadcast(state []byte) error {
	if _, err := m.running(); err != nil {
		return err
	}
	if m.cfg.State == nil {
		return ErrNoState
	}
	e := envelope{typ: msgState, seq: m.seq.Add(1), node: m.cfg.NodeID, payload: state}
	if len(state) > m.MaxBroadcastSize() {
		e.typ, e.payload = msgStateHint, nil
	}
	b := appendEnvelope(make([]byte, 0, len(e.payload)+envelopeOverhead(e.node)), e)
	m.broadcasts.QueueBroadcast(&broadcast{origin: m.cfg.NodeID, msg: b})
	return nil
}

// receiveState handles a state broadcast or hint: merge (or pull) it once,
// and relay it.
func (m *Membership) receiveState(e envelope, raw []byte) {
	if e.node == m.cfg.NodeID || m.shut.Load() {
		return
	}
	m.mu.Lock()
	fresh := e.seq > m.seen[e.node]
	if fresh {
		m.seen[e.node] = e.seq
	}
	origin := m.members[e.node]
	var originAddr string
	if origin != nil && !origin.State.Gone() {
		originAddr = origin.Addr
	}
	m.mu.Unlock()
	if !fresh {
		return
	}
	m.broadcasts.QueueBroadcast(&broadcast{origin: e.node, msg: append([]byte(nil), raw...)})
	if e.typ == msgStateHint {
		if m.cfg.State != nil {
			m.requestPull(e.node, originAddr)
		}
		return
	}
	if s := m.cfg.State; s != nil {
		m.stats.statesReceived.Add(1)
		s.MergeRemoteState(append([]byte(nil), e.payload...))
	}
}

// requestPull asks pullLoop to push/pull with addr. If the loop is busy
// the request is dropped: the periodic push/pull catches up.
func (m *Membership) requestPull(origin, addr string) {
	if addr == "" {
		m.logger.Debug("state notice from an unknown member; waiting for push/pull", "origin", origin)
		return
	}
	select {
	case m.pullCh <- addr:
	default:
		m.logger.Debug("state pull queue full; waiting for push/pull", "origin", origin)
	}
}

// pullLoop makes the push/pulls that requestPull asks for.
func (m *Membership) pullLoop() {
	for {
		select {
		case <-m.shutdownCh:
			return
		case addr := <-m.pullCh:
			ml, err := m.running()
			if err != nil {
				continue
			}
			// A join is a push/pull with one node: both merge each other's
			// LocalState.
			if _, err := ml.Join([]string{addr}); err != nil {
				m.logger.Debug("state pull failed; waiting for push/pull", "addr", addr, "error", err)
				continue
			}
			m.stats.statePulls.Add(1)
		}
	}
}
