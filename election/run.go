package election

import (
	"math"
	"slices"
	"time"
)

// This file is the state machine. Everything here runs on the run loop
// goroutine and owns the loop fields of Elector; nothing else touches them.
//
// The one timer means, by state:
//
//	Follower  coordinator silent for LeaderTimeout (or, with none known,
//	          LeaderTimeout spent listening for one): elect if membership
//	          shows a majority, else listen again.
//	Electing  no Answer within AnswerTimeout: claim leadership if a
//	          majority voted, else listen.
//	Waiting   no Coordinator within CoordinatorTimeout: elect again.
//	Leader    HeartbeatInterval elapsed: heartbeat every live master.

// run is the run loop: the only goroutine that changes election state.
func (e *Elector) run() {
	e.timer = time.NewTimer(e.cfg.LeaderTimeout)
	defer func() {
		e.timer.Stop()
		e.state = Shutdown
		e.publish()
		close(e.eventCh)
	}()
	e.applyMembers()
	e.becomeFollower("", e.epoch)
	e.publish()
	e.logger.Debug("started", "live", e.liveList, "known", e.knownList)
	for {
		select {
		case <-e.shutdownCh:
			return
		case m := <-e.msgCh:
			e.handle(m)
		case <-e.membersCh:
			e.applyMembers()
			e.applyCandidate()
		case <-e.timer.C:
			e.onTimeout()
		}
		e.publish()
	}
}

// onTimeout acts on the state timer; see the table at the top of the file.
func (e *Elector) onTimeout() {
	switch e.state {
	case Follower:
		if e.coordinator != "" {
			e.loseCoordinator("silent")
		}
		e.electOrListen()
	case Electing:
		e.finishElection()
	case Waiting:
		// Whoever answered may have claimed answerEpoch+1 and died
		// before its claim reached us: mint above that.
		if e.answerEpoch < math.MaxUint64 {
			e.maxEpoch = max(e.maxEpoch, e.answerEpoch+1)
		}
		e.logger.Debug("no coordinator message after an answer, electing again")
		e.startElection()
	case Leader:
		e.broadcast(KindHeartbeat)
		e.resetTimer(e.cfg.HeartbeatInterval)
	}
}

// handle dispatches one received message.
func (e *Elector) handle(m Message) {
	if m.From == e.cfg.ID {
		return // our own, looped back
	}
	e.logger.Trace("received", "kind", m.Kind, "from", m.From, "epoch", m.Epoch, "coordinator", m.Coordinator)
	e.maxEpoch = max(e.maxEpoch, m.Epoch)
	switch m.Kind {
	case KindElection:
		e.onElection(m)
	case KindAnswer:
		e.onAnswer(m)
	case KindCoordinator, KindHeartbeat:
		e.onClaim(m)
	case KindAck:
		e.onAck(m)
	}
}

// onElection answers an election from j:
//   - a Leader answers and re-asserts itself, even to a higher j: a
//     healthy coordinator is not deposed;
//   - a Follower with a coordinator relays it to j, for the same reason
//     (and answers a lower j, so it waits for that coordinator);
//   - any other node answers a lower j and elects (classical Bully), or
//     votes for a higher j.
//
// Only a node with a membership majority answers, since only it could go
// on to win. A j that has seen a higher epoch than our coordinator's has
// seen a claim our coordinator has not: the Leader re-claims above it, and
// a Follower pokes its coordinator so that it does.
func (e *Elector) onElection(m Message) {
	j := m.From
	lower := e.higher(e.cfg.ID, j)
	if e.state == Follower && j == e.coordinator {
		e.loseCoordinator("coordinator is electing")
	}
	switch {
	case e.state == Leader:
		e.send(j, Message{Kind: KindAnswer, Epoch: e.maxEpoch})
		if m.Epoch > e.epoch {
			e.claim("an election saw a higher epoch")
		}
		e.send(j, e.claimMessage())
	case e.state == Follower && e.coordinator != "":
		if time.Since(e.heardAt) >= e.freshFor() {
			// Our coordinator may be dead too: vouching for it would
			// spread a dead claim from node to node. Say nothing.
			return
		}
		if lower && e.hasMajority {
			e.send(j, Message{Kind: KindAnswer, Epoch: e.maxEpoch})
		}
		if m.Epoch > e.epoch {
			e.poke()
			return
		}
		e.send(j, e.claimMessage())
	case !lower:
		// A coordinator may still count our last acknowledgment for
		// LeaderTimeout-HeartbeatInterval; do not vote for another
		// until it has surely run out.
		if time.Since(e.lastAcked) >= e.cfg.LeaderTimeout {
			e.send(j, Message{Kind: KindAck, Epoch: e.maxEpoch})
		}
	case e.hasMajority:
		e.send(j, Message{Kind: KindAnswer, Epoch: e.maxEpoch})
		if e.state == Follower {
			e.startElection()
		}
	}
}

// onAnswer moves an electing node to Waiting: a higher node (or the
// coordinator) is alive and will finish the election. An Answer showing a
// higher epoch than our coordinator's makes a Follower poke it.
func (e *Elector) onAnswer(m Message) {
	switch e.state {
	case Electing:
		e.answerEpoch = max(e.answerEpoch, m.Epoch)
		e.logger.Debug("answered, waiting for the coordinator", "by", m.From)
		e.setState(Waiting)
		e.resetTimer(e.cfg.CoordinatorTimeout)
	case Waiting:
		e.answerEpoch = max(e.answerEpoch, m.Epoch)
	case Follower:
		if c := e.coordinator; c != "" && m.From != c && m.Epoch > e.epoch {
			e.poke()
		}
	}
}

// onAck counts a vote while Electing, or renews the lease of a Leader.
func (e *Elector) onAck(m Message) {
	switch e.state {
	case Electing:
		e.votes[m.From] = time.Now()
		if !e.higherLive() && e.votedMajority() {
			e.finishElection()
		}
	case Leader:
		if m.Epoch >= e.termEpoch && m.Epoch <= e.epoch {
			e.acks[m.From] = time.Now()
		}
	}
}

// onClaim handles Coordinator and Heartbeat messages: claim (c, E). Claims
// are ranked by epoch, then by id priority. We follow c if its claim
// outranks the one we follow (with none, any claim not older than the
// last we saw), acknowledge it if it is the one we follow, and otherwise
// tell c about the better claim so a stale coordinator steps down. Claims
// by masters that membership says are dead are ignored.
func (e *Elector) onClaim(m Message) {
	c, epoch := m.Coordinator, m.Epoch
	if c == e.cfg.ID {
		if e.state == Leader && epoch > e.epoch {
			e.claim("a claim of ours from a previous run has a higher epoch")
		}
		return
	}
	if e.known[c] && !e.live[c] {
		e.logger.Trace("ignoring the claim of a dead master", "coordinator", c, "epoch", epoch)
		return
	}
	direct := m.From == c
	switch {
	case c == e.coordinator && epoch == e.epoch:
		if direct { // we are a Follower: a Leader follows itself
			e.heardAt = time.Now()
			e.resetTimer(e.cfg.LeaderTimeout)
			e.ack(c, epoch)
		}
	case e.outranks(c, epoch):
		wasLeader := e.state == Leader
		e.becomeFollower(c, epoch)
		if direct {
			e.heardAt = time.Now()
		}
		if wasLeader {
			e.logger.Info("stepping down", "coordinator", c, "epoch", epoch)
			e.emit(EventSteppedDown)
		}
		e.logger.Debug("following", "coordinator", c, "epoch", epoch)
		e.emit(EventCoordinatorChanged)
		e.ack(c, epoch)
	case e.coordinator != "":
		e.logger.Trace("correcting a stale claim", "coordinator", c, "epoch", epoch)
		e.send(c, e.claimMessage())
	}
}

// freshFor is how recently a Follower must have heard its coordinator
// itself to vouch for it to an electing node.
func (e *Elector) freshFor() time.Duration {
	return min(2*e.cfg.HeartbeatInterval, e.cfg.LeaderTimeout)
}

// ack acknowledges the claim (c, epoch) we follow, renewing c's lease.
func (e *Elector) ack(c string, epoch uint64) {
	e.lastAcked = time.Now()
	e.send(c, Message{Kind: KindAck, Epoch: epoch})
}

// outranks reports whether claim (c, epoch) beats the one we follow, or,
// when we follow none, is at least as new as the last claim we saw.
func (e *Elector) outranks(c string, epoch uint64) bool {
	switch {
	case epoch != e.epoch:
		return epoch > e.epoch
	case e.coordinator == "":
		return true
	default:
		return e.higher(c, e.coordinator)
	}
}

// applyMembers takes the latest SetMembers view and reacts to it: majority
// events, a Leader greets newly live masters with its claim, and a
// Follower whose coordinator is dead elects (or listens, without a
// majority).
func (e *Elector) applyMembers() {
	e.membersLock.Lock()
	live, known, ok := e.pendingLive, e.pendingKnown, e.pendingSet
	e.pendingSet = false
	e.membersLock.Unlock()
	if !ok {
		return
	}
	oldLive, hadMajority := e.live, e.hasMajority
	e.setMembersLocked(live, known)
	e.logger.Debug("members", "live", e.liveList, "known", e.knownList, "majority", e.hasMajority)
	switch {
	case hadMajority && !e.hasMajority:
		e.logger.Warn("lost majority", "live", len(e.liveList), "known", len(e.knownList))
		e.emit(EventMajorityLost)
	case !hadMajority && e.hasMajority:
		e.logger.Info("regained majority", "live", len(e.liveList), "known", len(e.knownList))
		e.emit(EventMajorityRegained)
	}
	if e.state == Leader {
		for _, id := range e.liveList {
			if !oldLive[id] {
				e.send(id, e.claimMessage())
			}
		}
		return
	}
	if c := e.coordinator; c != "" && !e.live[c] {
		e.loseCoordinator("dead")
		e.electOrListen()
	}
}

// applyCandidate steps down a Leader that may no longer stand.
func (e *Elector) applyCandidate() {
	if e.state == Leader && !e.candidate.Load() {
		e.logger.Info("stepping down: no longer a candidate", "epoch", e.epoch)
		e.becomeFollower("", e.epoch)
		e.emit(EventSteppedDown)
	}
}

// setMembersLocked installs a membership view. It runs before Start (from
// New) or on the run loop, never both, hence "Locked": the caller owns the
// loop fields.
func (e *Elector) setMembersLocked(live, known []string) {
	id := e.cfg.ID
	e.live = map[string]bool{id: true}
	e.known = map[string]bool{id: true}
	for _, m := range live {
		if m != "" {
			e.live[m], e.known[m] = true, true
		}
	}
	for _, m := range known {
		if m != "" {
			e.known[m] = true
		}
	}
	e.liveList = sortedKeys(e.live)
	e.knownList = sortedKeys(e.known)
	e.hasMajority = 2*len(e.live) > len(e.known)
}

// electOrListen starts an election if membership shows a majority, else
// stays a Follower with no coordinator, listening.
func (e *Elector) electOrListen() {
	if e.hasMajority && e.candidate.Load() {
		e.startElection()
		return
	}
	// Without a majority, or when this node is not one of the masters (a
	// replica or compute node), it only listens.
	e.logger.Debug("no majority or not a master, not electing")
	e.becomeFollower("", e.epoch)
}

// startElection sends Election to every other live master: higher ones
// answer, lower ones vote. With nobody higher and enough votes (alone, a
// single known master is enough) we claim at once.
func (e *Elector) startElection() {
	if !e.hasMajority || !e.candidate.Load() {
		e.electOrListen()
		return
	}
	if wait := time.Until(e.lastAcked.Add(e.cfg.LeaderTimeout)); wait > 0 {
		// Our last acknowledgment may still hold up the old
		// coordinator's lease; claiming now could make two act at once.
		e.logger.Debug("deferring election after a recent acknowledgment", "wait", wait)
		e.becomeFollower("", e.epoch)
		e.resetTimer(wait)
		return
	}
	e.setState(Electing)
	e.coordinator = ""
	e.answerEpoch = 0
	e.votes = make(map[string]time.Time)
	if !e.higherLive() && e.votedMajority() {
		e.claim("alone")
		return
	}
	e.logger.Debug("electing", "live", e.liveList, "max_epoch", e.maxEpoch)
	e.broadcastMsg(Message{Kind: KindElection, Epoch: e.maxEpoch})
	e.resetTimer(e.cfg.AnswerTimeout)
}

// finishElection ends an election nobody higher answered: claim with a
// majority of votes, else listen and try again later.
func (e *Elector) finishElection() {
	if !e.votedMajority() {
		e.logger.Debug("election failed: no majority voted", "votes", len(e.votes), "known", len(e.knownList))
		e.becomeFollower("", e.epoch)
		return
	}
	e.claim("elected")
}

// claim makes us Leader at a new epoch, above every epoch seen, and tells
// every live master. Callers have checked votes (or are Leader already);
// without a membership majority it does not claim: a minority never mints
// epochs, so it cannot outrank the majority's coordinator after a heal.
func (e *Elector) claim(why string) {
	if !e.hasMajority {
		e.logger.Debug("not claiming without a majority", "why", why)
		e.becomeFollower("", e.epoch)
		return
	}
	if e.maxEpoch == math.MaxUint64 {
		e.logger.Error("epoch space exhausted, not claiming")
		e.becomeFollower("", e.epoch)
		return
	}
	e.maxEpoch++
	e.epoch = e.maxEpoch
	if e.state != Leader {
		e.termEpoch = e.epoch
		e.acks = e.votes // voters accepted us a moment ago
		e.votes = nil
		if e.acks == nil {
			e.acks = make(map[string]time.Time)
		}
	}
	e.coordinator = e.cfg.ID
	e.setState(Leader)
	e.logger.Info("became coordinator", "epoch", e.epoch, "why", why, "live", len(e.liveList), "known", len(e.knownList))
	e.emit(EventBecameCoordinator)
	e.broadcast(KindCoordinator)
	e.resetTimer(e.cfg.HeartbeatInterval)
}

// becomeFollower follows c at epoch ("" for none) and arms the silence
// timer.
func (e *Elector) becomeFollower(c string, epoch uint64) {
	e.setState(Follower)
	e.coordinator, e.epoch = c, epoch
	e.acks, e.votes = nil, nil
	e.heardAt = time.Time{}
	e.resetTimer(e.cfg.LeaderTimeout)
}

// loseCoordinator forgets the coordinator we followed.
func (e *Elector) loseCoordinator(why string) {
	log := e.logger.Info
	if !e.candidate.Load() {
		// Not a master (a replica or compute node): it only listens, and
		// the coordinator's heartbeats go to the masters.
		log = e.logger.Debug
	}
	log("coordinator lost", "coordinator", e.coordinator, "epoch", e.epoch, "why", why)
	e.coordinator = ""
	e.emit(EventCoordinatorLost)
}

// poke tells our coordinator that someone has seen a higher epoch than its
// claim, with an Election carrying that epoch; it re-claims above it.
func (e *Elector) poke() {
	e.send(e.coordinator, Message{Kind: KindElection, Epoch: e.maxEpoch})
}

// higherLive reports whether a live master outranks us.
func (e *Elector) higherLive() bool {
	return slices.ContainsFunc(e.liveList, func(id string) bool { return e.higher(id, e.cfg.ID) })
}

// votedMajority reports whether we and the known masters that voted for
// us in this election are a strict majority of the known masters.
func (e *Elector) votedMajority() bool {
	n := 1
	for id := range e.votes {
		if e.known[id] && id != e.cfg.ID {
			n++
		}
	}
	return 2*n > len(e.knownList)
}

// leaseUntil is when our lease as Leader runs out: the acknowledgments of
// a majority of known masters (we count as one) each last
// LeaderTimeout-HeartbeatInterval. Zero when not Leader, or without enough
// acknowledgments.
func (e *Elector) leaseUntil() time.Time {
	need := len(e.knownList) / 2 // others needed besides us
	if e.state != Leader || need == 0 {
		return time.Time{}
	}
	var times []time.Time
	for id, at := range e.acks {
		if e.known[id] && id != e.cfg.ID {
			times = append(times, at)
		}
	}
	if len(times) < need {
		return time.Time{}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return b.Compare(a) })
	return times[need-1].Add(e.cfg.LeaderTimeout - e.cfg.HeartbeatInterval)
}

// claimMessage is the claim we follow (our own as Leader), to relay.
func (e *Elector) claimMessage() Message {
	return Message{Kind: KindCoordinator, Epoch: e.epoch, Coordinator: e.coordinator}
}

// broadcast sends our own claim, as kind, to every other live master.
func (e *Elector) broadcast(kind Kind) {
	e.broadcastMsg(Message{Kind: kind, Epoch: e.epoch, Coordinator: e.cfg.ID})
}

// broadcastMsg sends m to every other live master, and claims also to
// the listeners.
func (e *Elector) broadcastMsg(m Message) {
	for _, id := range e.liveList {
		if id != e.cfg.ID {
			e.send(id, m)
		}
	}
	if m.Kind != KindCoordinator && m.Kind != KindHeartbeat {
		return
	}
	if ls := e.listeners.Load(); ls != nil {
		for _, id := range *ls {
			if id != e.cfg.ID && !e.live[id] {
				e.send(id, m)
			}
		}
	}
}

// send stamps m with our id and hands it to the transport.
func (e *Elector) send(to string, m Message) {
	m.From = e.cfg.ID
	if err := e.trans.Send(to, m); err != nil {
		e.logger.Trace("send failed", "to", to, "kind", m.Kind, "error", err)
	}
}

func (e *Elector) setState(s State) {
	if e.state != s {
		e.logger.Trace("state", "from", e.state, "to", s)
		e.state = s
	}
}

// resetTimer re-arms the state timer. Since Go 1.23 Reset discards a
// pending expiry, so a stale timeout from the previous state never fires.
func (e *Elector) resetTimer(d time.Duration) { e.timer.Reset(d) }

// emit queues an event, dropping the oldest one if the channel is full so
// the run loop never blocks.
func (e *Elector) emit(t EventType) {
	ev := Event{Type: t, Coordinator: e.coordinator, Epoch: e.epoch, HasMajority: e.hasMajority}
	for {
		select {
		case e.eventCh <- ev:
			return
		default:
		}
		select {
		case <-e.eventCh: // drop the oldest
		default:
		}
	}
}

// publish stores a fresh Status for the lock-free getters and reports a
// change of CanAct.
func (e *Elector) publish() {
	s := &Status{
		ID:          e.cfg.ID,
		State:       e.state,
		Coordinator: e.coordinator,
		Epoch:       e.epoch,
		MaxEpoch:    e.maxEpoch,
		Live:        e.liveList,
		Known:       e.knownList,
		HasMajority: e.hasMajority,
		LeaseUntil:  e.leaseUntil(),
		HeardAt:     e.heardAt,
	}
	e.status.Store(s)
	if now := s.CanAct(); now != e.canAct {
		e.canAct = now
		if now {
			e.emit(EventActing)
		} else {
			e.logger.Debug("not acting", "state", e.state, "majority", e.hasMajority, "lease_until", s.LeaseUntil)
			e.emit(EventNotActing)
		}
	}
}

// higher reports whether a outranks b: higher Priority, then higher id.
func (e *Elector) higher(a, b string) bool {
	if p := e.cfg.Priority; p != nil {
		if pa, pb := p(a), p(b); pa != pb {
			return pa > pb
		}
	}
	return a > b
}

func sortedKeys(m map[string]bool) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
