package membership

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

// defaultWait bounds the waits of Leave and UpdateMeta when their context
// has no deadline.
const defaultWait = 5 * time.Second

// Membership is this node's view of the cluster: it runs memberlist, keeps
// a snapshot of the members, and turns memberlist's callbacks into Events.
// Create it with New, then Start it. All methods are safe to call
// concurrently. The zero value is not usable.
type Membership struct {
	cfg        *Config // normalized copy; read-only after New
	logger     hclog.Logger
	shutdownCh chan struct{}
	wg         sync.WaitGroup // counts the goroutines started by goFunc

	events     *eventQueue
	eventsCh   chan Event
	broadcasts *memberlist.TransmitLimitedQueue
	pullCh     chan string // gossip addresses to pull state from

	dialCtx    context.Context // cancelled by Shutdown; aborts dials
	dialCancel context.CancelFunc

	lifeLock sync.Mutex // serialises Start, Leave and Shutdown
	ml       atomic.Pointer[memberlist.Memberlist]
	started  atomic.Bool
	left     atomic.Bool
	shut     atomic.Bool

	// mu is never held while calling into memberlist: memberlist calls our
	// delegates with its own locks held, so the lock order is memberlist's
	// then mu.
	mu           sync.Mutex
	members      map[string]*Member // guarded by mu: every known member, self included
	meta         Meta               // guarded by mu: this node's metadata
	metaBytes    []byte             // guarded by mu: meta and metaFlags, encoded
	metaFlags    byte               // guarded by mu: internal flags (flagLeaving)
	seen         map[string]uint64  // guarded by mu: newest state broadcast per origin
	localAddr    string             // guarded by mu: advertised ip:port, set by Start
	maxBroadcast int                // guarded by mu: set by Start

	numAlive atomic.Int64
	seq      atomic.Uint64 // last state broadcast sequence number
	stats    counters
}

// New validates and copies cfg and allocates a Membership. It starts no
// goroutine and opens no socket; Start does.
func New(cfg *Config) (*Membership, error) {
	if cfg == nil {
		return nil, fmt.Errorf("%w: nil Config", ErrInvalidConfig)
	}
	c, err := cfg.normalized()
	if err != nil {
		return nil, err
	}
	metaBytes, err := encodeMeta(c.Meta, 0)
	if err != nil {
		return nil, err
	}
	logger := c.Logger
	if logger == nil {
		logger = hclog.New(&hclog.LoggerOptions{Name: "membership"})
	} else {
		logger = logger.Named("membership")
	}
	m := &Membership{
		cfg:        c,
		logger:     logger,
		shutdownCh: make(chan struct{}),
		events:     newEventQueue(),
		eventsCh:   make(chan Event, c.EventBuffer),
		pullCh:     make(chan string, 16),
		members:    make(map[string]*Member),
		meta:       c.Meta,
		metaBytes:  metaBytes,
		seen:       make(map[string]uint64),
	}
	m.dialCtx, m.dialCancel = context.WithCancel(context.Background())
	m.broadcasts = &memberlist.TransmitLimitedQueue{
		NumNodes:       func() int { return int(max(1, m.numAlive.Load())) },
		RetransmitMult: c.Profile.RetransmitMult,
	}
	// Sequence numbers start at the clock so that a restarted node's
	// broadcasts are newer than those of its previous life.
	m.seq.Store(uint64(time.Now().UnixNano()))
	return m, nil
}

// Start binds the gossip port, starts memberlist and this package's
// goroutines, then joins the seeds (if any). Failing to reach the seeds is
// not an error: it is logged at warn, and the rejoin loop keeps trying. ctx
// bounds the joins (each seed also by Profile.TCPTimeout); a cancelled ctx
// leaves the remaining seeds to the rejoin loop. If binding fails, Start
// returns the error, holds nothing open, and may be called again.
func (m *Membership) Start(ctx context.Context) error {
	if err := m.start(); err != nil {
		return err
	}
	m.logger.Info("started", "node", m.cfg.NodeID, "addr", m.LocalAddr(), "cluster", m.cfg.Cluster,
		"encrypted", len(m.cfg.EncryptKey) > 0, "seeds", len(m.cfg.Seeds))
	// Joining happens outside lifeLock, so that Shutdown can cut it short.
	if seeds := m.seedsButSelf(); len(seeds) > 0 {
		n, err := m.join(ctx, seeds)
		if n == 0 {
			m.logger.Warn("could not join any seed; the rejoin loop will retry",
				"seeds", seeds, "error", err)
		} else {
			m.logger.Info("joined", "seeds_reached", n, "members", m.NumAlive())
		}
	}
	return nil
}

// start creates the memberlist and starts our goroutines.
func (m *Membership) start() error {
	m.lifeLock.Lock()
	defer m.lifeLock.Unlock()
	switch {
	case m.shut.Load():
		return ErrShutdown
	case m.started.Load():
		return ErrStarted
	}
	ml, err := m.createMemberlist()
	if err != nil {
		return err
	}
	m.ml.Store(ml)
	m.started.Store(true)
	m.goFunc(m.dispatchEvents)
	m.goFunc(m.rejoinLoop)
	m.goFunc(m.pullLoop)
	return nil
}

// seedsButSelf returns the seeds other than this node's own address (a
// seed list shared by all nodes names each of them).
func (m *Membership) seedsButSelf() []string {
	self := m.LocalAddr()
	var out []string
	for _, s := range m.cfg.Seeds {
		if s != self {
			out = append(out, s)
		}
	}
	return out
}

// createMemberlist binds the transport and creates the memberlist.
func (m *Membership) createMemberlist() (*memberlist.Memberlist, error) {
	stdlog := m.logger.Named("memberlist").StandardLogger(&hclog.StandardLoggerOptions{ForceLevel: hclog.Debug})
	tr, err := newTransport(m.dialCtx, m.cfg, stdlog)
	if err != nil {
		return nil, err
	}
	mc := memberlist.DefaultLANConfig()
	m.cfg.Profile.apply(mc)
	mc.Name = m.cfg.NodeID
	mc.Transport = tr
	mc.BindAddr, mc.BindPort = m.cfg.BindAddr, tr.GetAutoBindPort()
	mc.AdvertiseAddr, mc.AdvertisePort, err = advertise(m.cfg, tr)
	if err != nil {
		_ = tr.Shutdown()
		return nil, err
	}
	mc.Label = m.cfg.Cluster
	if len(m.cfg.EncryptKey) > 0 {
		mc.SecretKey = m.cfg.EncryptKey
	}
	mc.Delegate = &delegate{m: m}
	mc.Events = &eventDelegate{m: m}
	mc.Conflict = &conflictDelegate{m: m}
	mc.Logger = stdlog
	ml, err := memberlist.Create(mc)
	if err != nil {
		_ = tr.Shutdown() // Create does not always do it; a second call is harmless
		return nil, fmt.Errorf("start memberlist on %s:%d: %w", m.cfg.BindAddr, mc.BindPort, err)
	}
	m.mu.Lock()
	m.localAddr = net.JoinHostPort(mc.AdvertiseAddr, strconv.Itoa(mc.AdvertisePort))
	m.maxBroadcast = maxBroadcastSize(mc, m.cfg.NodeID)
	m.mu.Unlock()
	return ml, nil
}

// advertise returns the address and port other nodes should use.
func advertise(c *Config, tr *transport) (string, int, error) {
	port := c.AdvertisePort
	if port == 0 {
		port = tr.GetAutoBindPort()
	}
	if c.AdvertiseAddr != "" {
		return c.AdvertiseAddr, port, nil
	}
	ip, _, err := tr.FinalAdvertiseAddr("", 0)
	if err != nil {
		return "", 0, fmt.Errorf("choose advertise address: %w", err)
	}
	return ip.String(), port, nil
}

// goFunc runs f in a goroutine that Shutdown waits for.
func (m *Membership) goFunc(f func()) {
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		f()
	}()
}

// running returns the memberlist, or the error that explains why there is
// none to use.
func (m *Membership) running() (*memberlist.Memberlist, error) {
	switch {
	case m.shut.Load():
		return nil, ErrShutdown
	case !m.started.Load():
		return nil, ErrNotStarted
	case m.left.Load():
		return nil, ErrLeft
	}
	return m.ml.Load(), nil
}

// Join contacts each address (host[:port], port DefaultPort if absent) and
// merges its cluster with ours by a push/pull. It returns how many it
// reached and the errors of the others, joined; the error is nil when at
// least one was reached. ctx is checked between addresses; each one is
// bounded by Profile.TCPTimeout. Addresses given here are not added to the
// rejoin loop's seeds.
func (m *Membership) Join(ctx context.Context, addrs []string) (int, error) {
	if _, err := m.running(); err != nil {
		return 0, err
	}
	seeds := make([]string, 0, len(addrs))
	for _, a := range addrs {
		s, err := normalizeSeed(a)
		if err != nil {
			return 0, fmt.Errorf("join: %w", err)
		}
		seeds = append(seeds, s)
	}
	return m.join(ctx, seeds)
}

// join joins each address in turn; see Join.
func (m *Membership) join(ctx context.Context, addrs []string) (int, error) {
	ml, err := m.running()
	if err != nil {
		return 0, err
	}
	var errs []error
	n := 0
	for _, a := range addrs {
		if err := ctx.Err(); err != nil {
			errs = append(errs, fmt.Errorf("join %s: %w", a, err))
			break
		}
		if _, err := ml.Join([]string{a}); err != nil {
			errs = append(errs, fmt.Errorf("join %s: %w", a, err))
			continue
		}
		n++
	}
	if n > 0 {
		return n, nil
	}
	return 0, errors.Join(errs...)
}

// Leave announces that this node leaves the cluster, so that the others
// see an EventLeave (not EventFail), and stops the rejoin loop. It first
// gossips this node's metadata with a leaving mark (others see
// StateLeaving), then memberlist's leave message, waiting for each to be
// sent, bounded by ctx (5 s each if ctx has no deadline). The node keeps
// answering gossip until Shutdown, which should follow; a Shutdown called
// meanwhile waits for Leave to return. A second Leave returns nil.
func (m *Membership) Leave(ctx context.Context) error {
	m.lifeLock.Lock()
	defer m.lifeLock.Unlock()
	ml, err := m.running()
	if errors.Is(err, ErrLeft) {
		return nil
	}
	if err != nil {
		return err
	}
	m.left.Store(true)
	if err := m.setMeta(nil, flagLeaving); err != nil {
		return err
	}
	if err := ml.UpdateNode(waitFor(ctx)); err != nil {
		m.logger.Warn("leaving mark not fully gossiped; others may report a failure", "error", err)
	}
	if err := ml.Leave(waitFor(ctx)); err != nil {
		return fmt.Errorf("leave: %w", err)
	}
	m.logger.Info("left the cluster")
	return nil
}

// waitFor turns ctx into a memberlist timeout.
func waitFor(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return max(time.Until(d), time.Millisecond)
	}
	return defaultWait
}

// UpdateMeta replaces this node's metadata and gossips it; other nodes see
// an EventUpdate. Before Start it only sets what Start will publish. It
// waits until the update has been sent, bounded by ctx (5 s if ctx has no
// deadline); a timeout is returned as an error, but the update still
// spreads.
func (m *Membership) UpdateMeta(ctx context.Context, meta Meta) error {
	if m.shut.Load() {
		return ErrShutdown
	}
	if m.left.Load() {
		return ErrLeft
	}
	if err := m.setMeta(&meta, 0); err != nil {
		return err
	}
	if !m.started.Load() {
		return nil
	}
	if err := m.ml.Load().UpdateNode(waitFor(ctx)); err != nil {
		return fmt.Errorf("update meta: %w", err)
	}
	return nil
}

// setMeta replaces the metadata (if meta is not nil) and sets flags.
func (m *Membership) setMeta(meta *Meta, flags byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	next := m.meta
	if meta != nil {
		next = meta.clone()
	}
	b, err := encodeMeta(next, m.metaFlags|flags)
	if err != nil {
		return err
	}
	m.meta, m.metaBytes, m.metaFlags = next, b, m.metaFlags|flags
	return nil
}

// Shutdown stops memberlist without announcing a departure (call Leave
// first for that; others will otherwise see this node fail), stops this
// package's goroutines and waits for them, bounded by ctx. Events is closed
// afterwards. It is idempotent: later calls return nil at once.
func (m *Membership) Shutdown(ctx context.Context) error {
	m.lifeLock.Lock()
	defer m.lifeLock.Unlock()
	if m.shut.Swap(true) {
		return nil
	}
	m.dialCancel()
	if ml := m.ml.Load(); ml != nil {
		if err := ml.Shutdown(); err != nil {
			m.logger.Warn("memberlist shutdown", "error", err)
		}
	}
	close(m.shutdownCh)
	if !m.started.Load() {
		close(m.eventsCh) // no dispatcher to close it
		return nil
	}
	done := make(chan struct{})
	go func() {
		m.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
		m.logger.Debug("shut down")
		return nil
	case <-ctx.Done():
		return fmt.Errorf("membership shutdown: %w", ctx.Err())
	}
}

// ShutdownCh returns a channel that is closed when Shutdown begins.
func (m *Membership) ShutdownCh() <-chan struct{} { return m.shutdownCh }

// Events returns the channel of membership changes. There is one channel
// per Membership, for one consumer; it is closed after Shutdown.
//
// Memberlist's goroutines never wait for the consumer: events go to an
// internal queue that holds at most one pending event per member, and a
// newer event for a member replaces an undelivered older one (a Fail
// followed by a Join arrives as the Join alone). Stats.EventsCoalesced
// counts the replaced events. The final state is never lost, and Members
// always has the current view. This node's own Join (at Start), Updates
// and Leave are included.
func (m *Membership) Events() <-chan Event { return m.eventsCh }

// LocalAddr returns the gossip address other nodes use to reach this one,
// ip:port (the bound port when BindPort was 0). It is "" before Start.
func (m *Membership) LocalAddr() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.localAddr
}

// NodeID returns this node's id.
func (m *Membership) NodeID() string { return m.cfg.NodeID }
