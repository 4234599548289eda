package client

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// Config configures a Client.
type Config struct {
	// Seeds are host:port client addresses of any nodes of the cluster.
	// At least one is required.
	Seeds []string

	// Token is presented in the hello on every connection, for nodes that
	// require one.
	Token string

	// TLS, if not nil, is used for every connection. Use TLSConfig to build
	// one from a CA file.
	TLS *tls.Config

	// Name identifies the client in the nodes' logs. If blank, "lkv-go".
	Name string

	// DialTimeout bounds each connection attempt. Zero means 5s.
	DialTimeout time.Duration

	// MaxFrame is the largest response frame accepted, in bytes. Zero
	// means wire.DefaultMaxFrame.
	MaxFrame int

	// MaxRetries bounds how often one request follows MOVED or TRYAGAIN,
	// or is resent after its node became unreachable. Zero means 8.
	MaxRetries int

	// ReadFromReplicas lets gets, stats and executions be served by a
	// replica of the key's slot (eventually consistent).
	ReadFromReplicas bool

	// Placement chooses where executions run when ExecOptions names no
	// node. Nil means MostBytes.
	Placement Placement

	// RefreshInterval is how often the client refreshes the topology in
	// the background while it is being used, so that it learns of nodes
	// that died even when no request failed yet. Zero means 2s; negative
	// disables it.
	RefreshInterval time.Duration
}

func (c Config) withDefaults() Config {
	if c.Name == "" {
		c.Name = "lkv-go"
	}
	if c.DialTimeout == 0 {
		c.DialTimeout = 5 * time.Second
	}
	if c.MaxFrame == 0 {
		c.MaxFrame = wire.DefaultMaxFrame
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 8
	}
	if c.Placement == nil {
		c.Placement = MostBytes
	}
	if c.RefreshInterval == 0 {
		c.RefreshInterval = 2 * time.Second
	}
	return c
}

// Client talks to a lambdakv cluster. It is safe for concurrent use by many
// goroutines. The zero value is not usable; call Dial.
type Client struct {
	cfg Config

	routes atomic.Pointer[routeTable]

	mu      sync.Mutex
	conns   map[string]*nodeConn // guarded by mu; by node address
	dialing map[string]*dialCall // guarded by mu
	closed  bool                 // guarded by mu

	refreshMu sync.Mutex // one topology refresh at a time

	known *knowledge // object sizes, recent fetches, executions in flight

	used atomic.Bool // a request was sent since the last background refresh
	// readTurn spreads reads that replicas may serve over the copies.
	readTurn atomic.Uint32
	stop     chan struct{} // closed by Close; stops the refresher
	stopped  sync.WaitGroup
}

// dialCall lets concurrent requests to one node share a dial.
type dialCall struct {
	done chan struct{}
	conn *nodeConn
	err  error
}

// Dial connects to the first seed that answers and learns the topology.
func Dial(ctx context.Context, cfg Config) (*Client, error) {
	if len(cfg.Seeds) == 0 {
		return nil, errors.New("client: no seeds given")
	}
	c := &Client{
		cfg:     cfg.withDefaults(),
		conns:   make(map[string]*nodeConn),
		dialing: make(map[string]*dialCall),
		known:   newKnowledge(),
		stop:    make(chan struct{}),
	}
	c.known.replicas = c.cfg.ReadFromReplicas
	if err := c.Refresh(ctx); err != nil {
		c.Close()
		return nil, err
	}
	if c.cfg.RefreshInterval > 0 {
		c.stopped.Add(1)
		go c.refresher()
	}
	return c, nil
}

// refresher refreshes the topology every RefreshInterval while the client
// is in use, until Close.
func (c *Client) refresher() {
	defer c.stopped.Done()
	t := time.NewTicker(c.cfg.RefreshInterval)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			if !c.used.Swap(false) {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout)
			_ = c.Refresh(ctx)
			cancel()
		case <-c.stop:
			return
		}
	}
}

// Close closes every connection. Calls in flight fail with a connection
// error. It is idempotent.
func (c *Client) Close() error {
	c.mu.Lock()
	if !c.closed {
		close(c.stop)
	}
	c.closed = true
	conns := c.conns
	c.conns = make(map[string]*nodeConn)
	c.mu.Unlock()
	for _, nc := range conns {
		nc.close()
	}
	c.stopped.Wait()
	return nil
}

// conn returns the connection to addr, dialing it if needed.
func (c *Client) conn(ctx context.Context, addr string) (*nodeConn, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, ErrClosed
	}
	if nc, ok := c.conns[addr]; ok && !nc.broken() {
		c.mu.Unlock()
		return nc, nil
	}
	d, ok := c.dialing[addr]
	if !ok {
		d = &dialCall{done: make(chan struct{})}
		c.dialing[addr] = d
		c.stopped.Add(1)
		go func() {
			defer c.stopped.Done()
			c.dial(addr, d)
		}()
	}
	c.mu.Unlock()
	select {
	case <-d.done:
		return d.conn, d.err
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dial runs one shared connection attempt, bounded by DialTimeout.
func (c *Client) dial(addr string, d *dialCall) {
	ctx, cancel := context.WithTimeout(context.Background(), c.cfg.DialTimeout)
	defer cancel()
	d.conn, d.err = dialNode(ctx, &c.cfg, addr)
	c.mu.Lock()
	delete(c.dialing, addr)
	if d.err == nil {
		if c.closed {
			d.err = ErrClosed
		} else {
			if old := c.conns[addr]; old != nil {
				go old.close()
			}
			c.conns[addr] = d.conn
		}
	}
	c.mu.Unlock()
	if d.err != nil && d.conn != nil {
		d.conn.close()
		d.conn = nil
	}
	close(d.done)
}

// Refresh fetches the topology from a known node, trying the nodes of the
// current table first and then the seeds.
func (c *Client) Refresh(ctx context.Context) error {
	c.refreshMu.Lock()
	defer c.refreshMu.Unlock()
	return c.refreshLocked(ctx)
}

func (c *Client) refreshLocked(ctx context.Context) error {
	var errs []error
	for _, addr := range c.candidates() {
		// Each candidate gets its own bound, so that one hung node cannot
		// hold every refresh (and every request waiting for one).
		cctx, cancel := context.WithTimeout(ctx, c.cfg.DialTimeout)
		top, err := c.fetchTopology(cctx, addr)
		cancel()
		if err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
			continue
		}
		c.routes.Store(newRouteTable(top))
		c.dropDead(top)
		return nil
	}
	return fmt.Errorf("%w: %w", ErrNoNodes, errors.Join(errs...))
}

// refreshAsync refreshes the topology in the background unless a refresh
// is already running, so that a burst of MOVED answers costs one refresh.
func (c *Client) refreshAsync() {
	if !c.refreshMu.TryLock() {
		return
	}
	c.mu.Lock()
	closed := c.closed
	if !closed {
		c.stopped.Add(1)
	}
	c.mu.Unlock()
	if closed {
		c.refreshMu.Unlock()
		return
	}
	go func() {
		defer c.stopped.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 2*c.cfg.DialTimeout)
		defer cancel()
		_ = c.refreshLocked(ctx)
		c.refreshMu.Unlock()
	}()
}

// candidates lists addresses to ask for the topology, known nodes first
// in random order, then the seeds.
func (c *Client) candidates() []string {
	var out []string
	seen := make(map[string]bool)
	if rt := c.routes.Load(); rt != nil {
		for _, i := range rand.Perm(len(rt.top.Nodes)) {
			n := rt.top.Nodes[i]
			if n.State == "dead" || n.State == "left" {
				continue // asked only if it is also a seed
			}
			if !seen[n.Addr] {
				seen[n.Addr] = true
				out = append(out, n.Addr)
			}
		}
	}
	for _, a := range c.cfg.Seeds {
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out
}

func (c *Client) fetchTopology(ctx context.Context, addr string) (*wire.Topology, error) {
	resp, err := c.roundTrip(ctx, addr, &wire.Request{Op: wire.OpTopology})
	if err != nil {
		return nil, err
	}
	if resp.Topology == nil {
		return nil, fmt.Errorf("node %s sent no topology", addr)
	}
	return resp.Topology, nil
}

// dropDead closes the connections to nodes the topology says are dead, so
// that requests waiting on them fail and are retried elsewhere instead of
// hanging.
func (c *Client) dropDead(top *wire.Topology) {
	var dead []*nodeConn
	c.mu.Lock()
	for _, n := range top.Nodes {
		if n.State == "dead" {
			if nc, ok := c.conns[n.Addr]; ok {
				dead = append(dead, nc)
				delete(c.conns, n.Addr)
			}
		}
	}
	c.mu.Unlock()
	for _, nc := range dead {
		go nc.close()
	}
}

// roundTrip sends req to addr and waits, without routing or retries.
func (c *Client) roundTrip(ctx context.Context, addr string, req *wire.Request) (*wire.Response, error) {
	nc, err := c.conn(ctx, addr)
	if err != nil {
		return nil, err
	}
	cl := nc.start(ctx, req)
	if err := cl.wait(ctx); err != nil {
		return nil, err
	}
	return &cl.resp, errorOf(&cl.resp, addr)
}

// Topology returns the cluster's topology as the client last learned it.
func (c *Client) Topology() *wire.Topology {
	return c.routes.Load().top
}

// Nodes returns the client addresses of every node in the topology.
func (c *Client) Nodes() []string {
	top := c.Topology()
	out := make([]string, 0, len(top.Nodes))
	for _, n := range top.Nodes {
		out = append(out, n.Addr)
	}
	return out
}

// routeTable maps slots to the client address of their master. Slots map
// to small indexes into addrs so that the table stays in cache (32 KiB
// instead of 256 KiB of string headers).
type routeTable struct {
	top   *wire.Topology
	slot  [slots.NumSlots]uint16 // index into addrs; 0 means no master
	addrs []string               // addrs[0] is ""
	ids   []string               // node ids, parallel to addrs
	dead  []bool                 // parallel to addrs: the node is known dead
	alive []string               // client addresses of the live nodes
	byID  map[string]string      // node id → client address
}

func newRouteTable(top *wire.Topology) *routeTable {
	rt := &routeTable{top: top, addrs: []string{""}, ids: []string{""}, dead: []bool{false}, byID: make(map[string]string, len(top.Nodes))}
	index := make(map[string]uint16, len(top.Nodes))
	for _, n := range top.Nodes {
		rt.byID[n.ID] = n.Addr
		if _, ok := index[n.ID]; !ok && len(rt.addrs) < 1<<16 {
			index[n.ID] = uint16(len(rt.addrs))
			rt.addrs = append(rt.addrs, n.Addr)
			rt.ids = append(rt.ids, n.ID)
			rt.dead = append(rt.dead, n.State == "dead" || n.State == "left")
			if n.State == "" || n.State == "alive" {
				rt.alive = append(rt.alive, n.Addr)
			}
		}
	}
	for _, r := range top.Slots {
		i := index[r.Master]
		for s := max(r.Start, 0); s <= min(r.End, slots.NumSlots-1); s++ {
			rt.slot[s] = i
		}
	}
	return rt
}

// readAddrFor returns a node that may serve a read of key that replicas
// may answer: the live master or a live replica of its slot, in turn, so
// that reads spread over the copies; the master's route when the slot has
// no live copy.
func (c *Client) readAddrFor(key string) string {
	rt := c.routes.Load()
	r, ok := rt.rangeOf(key)
	if !ok {
		return c.addrFor(key)
	}
	var cands []string
	for _, id := range append([]string{r.Master}, r.Replicas...) {
		if a, ok := rt.byID[id]; ok && a != "" && slices.Contains(rt.alive, a) {
			cands = append(cands, a)
		}
	}
	if len(cands) == 0 {
		return c.addrFor(key)
	}
	return cands[int(c.readTurn.Add(1))%len(cands)]
}

// rangeOf returns the slot range that holds key's slot.
func (rt *routeTable) rangeOf(key string) (wire.SlotRange, bool) {
	slot := int(slots.KeySlot(key))
	ranges := rt.top.Slots
	i := sort.Search(len(ranges), func(i int) bool { return ranges[i].End >= slot })
	if i == len(ranges) || ranges[i].Start > slot {
		return wire.SlotRange{}, false
	}
	return ranges[i], true
}

// replicaIDs returns the ids of the replicas of key's slot.
func (rt *routeTable) replicaIDs(key string) []string {
	r, _ := rt.rangeOf(key)
	return r.Replicas
}

// ownerID returns the id of the master of key's slot, or "".
func (rt *routeTable) ownerID(key string) string {
	return rt.ids[rt.slot[slots.KeySlot(key)]]
}

// addrFor returns the node to send a request about key to.
func (c *Client) addrFor(key string) string {
	if !c.used.Load() {
		c.used.Store(true)
	}
	rt := c.routes.Load()
	i := rt.slot[slots.KeySlot(key)]
	if a := rt.addrs[i]; a != "" && !rt.dead[i] {
		return a
	}
	if len(rt.alive) > 0 {
		// The slot's master is gone (or unknown): a live node answers
		// UNAVAILABLE, or MOVED if the slot has moved since.
		return rt.alive[int(slots.KeySlot(key))%len(rt.alive)]
	}
	if len(rt.top.Nodes) > 0 {
		return rt.top.Nodes[0].Addr
	}
	return c.cfg.Seeds[0]
}
