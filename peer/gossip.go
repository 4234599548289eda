package peer

import (
	"slices"
	"time"

	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/membership"
)

// electionTransport carries election messages over membership. Send must
// not block the election's run loop: it queues for sendLoop and drops when
// the queue is full, which the election tolerates like a lost message.
type electionTransport struct{ p *Peer }

var _ election.Transport = electionTransport{}

func (t electionTransport) Send(to string, m election.Message) error {
	b, err := m.AppendBinary([]byte{msgElection})
	if err != nil {
		return err
	}
	t.p.sendTo(to, b)
	return nil
}

// sendTo queues msg for node without blocking. Each destination has its
// own queue and sender goroutine, so a node that hangs (its connections
// time out) delays only the messages meant for it; when its queue is full,
// its messages are dropped, which the election tolerates as lost.
func (p *Peer) sendTo(node string, msg []byte) {
	p.cl.sendMu.Lock()
	if p.cl.senders == nil { // shutting down, or gossip is off
		p.cl.sendMu.Unlock()
		return
	}
	ch, ok := p.cl.senders[node]
	if !ok {
		ch = make(chan []byte, 64)
		p.cl.senders[node] = ch
		p.goFunc(func() { p.sendLoop(node, ch) })
	}
	p.cl.sendMu.Unlock()
	select {
	case ch <- msg:
	default:
		p.logger.Debug("message to a node dropped: its queue is full", "to", node)
	}
}

// sendLoop delivers the messages queued for one node.
func (p *Peer) sendLoop(node string, ch <-chan []byte) {
	for {
		select {
		case msg := <-ch:
			if err := p.cl.ml.SendTo(node, msg); err != nil {
				p.logger.Debug("message to a node not delivered", "to", node, "error", err)
			}
		case <-p.shutdownCh:
			return
		}
	}
}

// onMessage receives a message from another node; it must not block.
func (p *Peer) onMessage(from string, msg []byte) {
	if len(msg) == 0 {
		return
	}
	switch msg[0] {
	case msgElection:
		var m election.Message
		if err := m.UnmarshalBinary(msg[1:]); err != nil || m.From != from {
			return
		}
		if p.cl.el != nil {
			p.cl.el.HandleMessage(m)
		}
	case msgEvict:
		p.cl.cache.Remove(string(msg[1:]))
	}
}

// broadcastEvict tells every other node to drop key from its cache.
func (p *Peer) broadcastEvict(key string) {
	if p.cl.ml == nil {
		return
	}
	msg := append([]byte{msgEvict}, key...)
	for _, m := range p.cl.ml.Members() {
		if m.ID == p.id || m.State != membership.StateAlive {
			continue
		}
		p.sendTo(m.ID, msg)
	}
}

// clusterLoop follows membership and the election, and, while this node
// is the coordinator, keeps the slot table covered and balanced.
func (p *Peer) clusterLoop() {
	tick := time.NewTicker(p.cfg.RebalanceInterval)
	defer tick.Stop()
	// The majority check is cheap and bounds how late an isolated master
	// stops taking writes.
	quorum := time.NewTicker(p.quorumTick())
	defer quorum.Stop()
	events := p.cl.ml.Events()
	for {
		select {
		case _, ok := <-events:
			if !ok {
				events = nil
				continue
			}
			p.membershipChanged()
		case <-quorum.C:
			p.checkMajority()
			if p.cl.el.CanAct() {
				// A master that died is failed over without waiting for
				// the next round (it waits for failoverGrace itself).
				p.failover(p.stopCtx)
			}
		case <-tick.C:
			p.membershipChanged()
			p.dropMovedSlots()
			if p.cl.el.CanAct() {
				p.coordinate(p.stopCtx)
			}
		case <-p.shutdownCh:
			return
		}
	}
}

// membershipChanged refreshes the view and tells the election.
func (p *Peer) membershipChanged() {
	if p.cl.ml.NumAlive() > 1 {
		p.cl.joined.Store(true)
	}
	p.refreshView()
	live, known := p.masters()
	p.cl.el.SetMembers(live, known)
	p.cl.el.SetCandidate(slices.Contains(known, p.id))
	var listeners []string
	for _, m := range p.cl.ml.Members() {
		if m.State == membership.StateAlive && !slices.Contains(live, m.ID) {
			listeners = append(listeners, m.ID)
		}
	}
	p.cl.el.SetListeners(listeners)
	p.checkMajority()
	p.savePeers()
}

// quorumTick is how often the majority check runs.
func (p *Peer) quorumTick() time.Duration { return min(p.cfg.RebalanceInterval, 200*time.Millisecond) }

// checkMajority notes the time if this node sees a majority of the
// masters alive. Suspected ones do not count: a node cut off from the
// others suspects them well before it declares them dead.
func (p *Peer) checkMajority() {
	live, known := p.masters()
	suspects := p.cl.ml.Suspects()
	n := 0
	for _, id := range live {
		if !slices.Contains(suspects, id) {
			n++
		}
	}
	// Membership is slow to see a cut from the cut-off side (it probes
	// one member per interval); the election sees it within LeaderTimeout:
	// both must show the majority.
	if 2*n > len(known) && p.cl.el.InMajority() {
		p.cl.majorityAt.Store(time.Now().UnixNano())
	}
}
