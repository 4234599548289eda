package election

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Elector runs the Bully election for one master. Create it with New, feed
// it membership with SetMembers and received messages with HandleMessage,
// then Start it. All methods are safe to call concurrently. The zero value
// is not usable.
//
// One goroutine, the run loop, owns the election state; the public calls
// hand it work over channels and read the Status it publishes.
type Elector struct {
	cfg    *Config
	logger hclog.Logger
	trans  Transport

	msgCh     chan Message  // received messages, bounded; HandleMessage drops when full
	membersCh chan struct{} // capacity 1: "pendingLive/pendingKnown changed"
	eventCh   chan Event    // Events; the run loop is the only sender once started
	status    atomic.Pointer[Status]

	// candidate is false for a node that may not stand for coordinator
	// (not a master): it only listens. Set by SetCandidate.
	candidate atomic.Bool
	// listeners are live nodes that are not masters (replicas, compute
	// nodes): a Leader's claims and heartbeats go to them too, so that
	// they know the coordinator. Set by SetListeners.
	listeners atomic.Pointer[[]string]

	membersLock  sync.Mutex // guards pendingLive, pendingKnown, pendingSet
	pendingLive  []string
	pendingKnown []string
	pendingSet   bool

	shutdownLock sync.Mutex // guards started, shutdown, and wg.Add
	started      bool
	shutdown     bool
	shutdownCh   chan struct{}
	wg           sync.WaitGroup

	// Owned by the run loop (run.go); nothing else touches these.
	state       State
	coordinator string               // who we follow; our ID when Leader; "" if none
	epoch       uint64               // epoch of the coordinator's claim (or the last one seen)
	maxEpoch    uint64               // highest epoch seen anywhere
	answerEpoch uint64               // highest epoch in the Answers of the current election
	votes       map[string]time.Time // Acks (votes) in the current election, by voter
	acks        map[string]time.Time // Leader: latest Ack of our claim, by follower
	termEpoch   uint64               // Leader: the epoch we first claimed in this term
	canAct      bool                 // CanAct at the last publish, for EventActing/NotActing
	lastAcked   time.Time            // when we last acknowledged a coordinator's claim
	heardAt     time.Time            // Follower: when the coordinator itself last sent us its claim
	live        map[string]bool      // includes our ID
	known       map[string]bool      // includes every live id
	liveList    []string             // sorted, never modified once published
	knownList   []string             // sorted, never modified once published
	hasMajority bool
	timer       *time.Timer // meaning depends on state; see run.go
}

// New returns an Elector for cfg. It validates and copies cfg and starts
// nothing: no goroutines until Start.
func New(cfg *Config) (*Elector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	if cfg.Logger == nil {
		cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: "election"})
	}
	e := &Elector{
		cfg:        cfg,
		logger:     cfg.Logger,
		trans:      cfg.Transport,
		msgCh:      make(chan Message, cfg.MessageQueue),
		membersCh:  make(chan struct{}, 1),
		eventCh:    make(chan Event, cfg.EventBuffer),
		shutdownCh: make(chan struct{}),
		maxEpoch:   cfg.InitialEpoch,
		epoch:      cfg.InitialEpoch,
	}
	e.candidate.Store(true)
	e.setMembersLocked(nil, nil)
	e.publish()
	return e, nil
}

// InMajority reports whether this node is in touch with a coordinator
// that a majority of the masters acknowledges: it is that coordinator
// (holding its lease, or the only master it knows), or it heard it
// within LeaderTimeout. A node cut off from the majority loses it within
// LeaderTimeout, long before membership declares anyone dead; during an
// election nobody has it.
func (e *Elector) InMajority() bool {
	s := e.status.Load()
	switch {
	case s.State == Leader:
		return len(s.Known) <= 1 || time.Now().Before(s.LeaseUntil)
	case s.Coordinator != "" && !s.HeardAt.IsZero():
		return time.Since(s.HeardAt) < e.cfg.LeaderTimeout
	}
	return false
}

// LeaderTimeout is the configured LeaderTimeout.
func (e *Elector) LeaderTimeout() time.Duration { return e.cfg.LeaderTimeout }

// ID returns this node's id.
func (e *Elector) ID() string { return e.cfg.ID }

// Start starts the run loop. The node first listens for
// Config.LeaderTimeout for a coordinator, then elects if it hears none.
// ctx only bounds Start itself; the loop runs until Shutdown. Start returns
// ErrStarted if called twice and ErrShutdown after Shutdown.
func (e *Elector) Start(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("election: start: %w", err)
	}
	e.shutdownLock.Lock()
	defer e.shutdownLock.Unlock()
	switch {
	case e.shutdown:
		return ErrShutdown
	case e.started:
		return ErrStarted
	}
	e.started = true
	e.goFunc(e.run)
	return nil
}

// Shutdown stops the run loop and waits for it to exit, bounded by ctx.
// It sends nothing (a coordinator that shuts down is found dead by
// membership or silent by its followers), closes the Events channel and
// leaves Status in state Shutdown. It is idempotent.
func (e *Elector) Shutdown(ctx context.Context) error {
	e.shutdownLock.Lock()
	if e.shutdown {
		e.shutdownLock.Unlock()
		return nil
	}
	e.shutdown = true
	close(e.shutdownCh)
	if !e.started {
		close(e.eventCh) // no run loop will
		e.publishStopped()
	}
	e.shutdownLock.Unlock()

	done := make(chan struct{})
	go func() { e.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("election: shutdown: %w", ctx.Err())
	}
}

// ShutdownCh is closed when Shutdown starts.
func (e *Elector) ShutdownCh() <-chan struct{} { return e.shutdownCh }

// HandleMessage passes a message received from the transport to the run
// loop. It never blocks: it drops m if it is invalid, if the queue
// (Config.MessageQueue) is full, or after Shutdown, exactly as a lossy
// network would. Messages given before Start wait in the queue.
func (e *Elector) HandleMessage(m Message) {
	if err := m.Validate(); err != nil {
		e.logger.Debug("dropping invalid message", "error", err)
		return
	}
	select {
	case <-e.shutdownCh:
		return
	default:
	}
	select {
	case e.msgCh <- m:
	default:
		e.logger.Debug("message queue full, dropping", "kind", m.Kind, "from", m.From)
	}
}

// SetCandidate says whether this node may stand for coordinator (true by
// default). A node that is not a master sets it false: it then only
// listens, never calls an election, and steps down if it leads.
func (e *Elector) SetCandidate(ok bool) {
	if e.candidate.Swap(ok) == ok {
		return
	}
	select {
	case e.membersCh <- struct{}{}:
	default:
	}
}

// SetListeners names the live nodes that are not masters but should hear
// who the coordinator is. Their acknowledgements count for nothing. The
// slice is copied.
func (e *Elector) SetListeners(ids []string) {
	cp := slices.Clone(ids)
	e.listeners.Store(&cp)
}

// SetMembers tells the elector which masters are alive and which it knows
// of at all (alive, suspect, or dead but not yet forgotten); known should
// include every live id. This node's own id is always counted as live and
// known. The majority rule is over known: a node acts only while more than
// half of known is live. The slices are copied.
//
// SetMembers never blocks; when called faster than the run loop catches
// up, only the latest call counts. Calling it before Start sets the
// initial view.
func (e *Elector) SetMembers(live, known []string) {
	e.membersLock.Lock()
	e.pendingLive = slices.Clone(live)
	e.pendingKnown = slices.Clone(known)
	e.pendingSet = true
	e.membersLock.Unlock()
	select {
	case e.membersCh <- struct{}{}:
	default: // a signal is already pending; the loop will read the latest
	}
}

// Events returns the channel on which the elector reports changes. It is
// bounded (Config.EventBuffer); the run loop never blocks on it: when it is
// full the oldest event is dropped to make room, so a slow reader loses
// history but always gets the newest events. Treat events as hints and
// read Status for the truth. The channel is closed when Shutdown stops the
// run loop.
func (e *Elector) Events() <-chan Event { return e.eventCh }

// Status returns a snapshot of the elector's state.
func (e *Elector) Status() Status { return e.status.Load().clone() }

// CanAct reports whether this node is the coordinator and may change the
// slot table now; see Status.CanAct. To stamp a decision with its epoch,
// take one Status and use its CanAct and Epoch together.
func (e *Elector) CanAct() bool { return e.status.Load().CanAct() }

// Coordinator returns the coordinator this node follows ("" if none) and
// the epoch of its claim.
func (e *Elector) Coordinator() (id string, epoch uint64) {
	s := e.status.Load()
	return s.Coordinator, s.Epoch
}

// goFunc runs f in a goroutine that Shutdown waits for. shutdownLock is
// held, so Add never races with Wait.
func (e *Elector) goFunc(f func()) {
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		f()
	}()
}

// publishStopped publishes the final Status, in state Shutdown.
func (e *Elector) publishStopped() {
	s := *e.status.Load()
	s.State = Shutdown
	e.status.Store(&s)
}
