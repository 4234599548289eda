package peer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/membership"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
	"github.com/lambdakv/lambdakv/store"
)

// cluster is the node's part in the cluster: the slot table it holds, the
// members it sees, the election, the write gates of slot migration, the
// cache of remote values, and a client for talking to other nodes. A node
// with gossip disabled has a table in which it owns every slot and no
// membership or election.
type cluster struct {
	table   atomic.Pointer[slots.Table]
	tableMu sync.Mutex // serialises table changes and their persistence

	view atomic.Pointer[clusterView]

	ml *membership.Membership // nil without gossip
	el *election.Elector      // nil without gossip

	gates   slotGates
	cache   *store.Cache
	fetches singleflight.Group // remote fetches under way, by key
	moving  atomic.Int64       // slot ranges this node is copying away
	pending atomic.Int64       // as coordinator: slots still to move in this round
	// joined is set once this node has seen another member. A node told
	// to join a cluster assigns no slots before: alone, it would claim
	// every slot and, once joined, win ties over slots it has no data for.
	joined atomic.Bool
	// synced is set once this node holds a slot table it may act on: at
	// once for a node that starts alone, else after it merged another
	// member's. Until then it serves no slot as master: a master back from
	// a crash may have been replaced while it was away.
	synced atomic.Bool
	// majorityAt is when this node last saw a majority of the masters
	// alive (unix nanoseconds), for IsolationTimeout.
	majorityAt atomic.Int64

	peersMu sync.Mutex
	peers   *client.Client // guarded by peersMu; dialled on first use

	savedPeers []string // owned by clusterLoop: the addresses in peersFile

	sendMu  sync.Mutex
	senders map[string]chan []byte // guarded by sendMu: a queue per destination node
}

// clusterView is a snapshot of the members, by id.
type clusterView struct {
	nodes map[string]wire.NodeInfo
}

// Message kinds carried by membership's SendTo, in the first byte.
const (
	msgElection byte = 1
	msgEvict    byte = 2
)

// tableFile is where a node keeps its copy of the slot table.
const tableFile = "slots.table"

// peersFile is where a node keeps the gossip addresses of the other
// members it last saw, to join them again when it restarts.
const peersFile = "peers.json"

// startCluster loads the slot table, joins the gossip and starts the
// election. Without gossip the node owns every slot.
func (p *Peer) startCluster(ctx context.Context) error {
	c := &p.cl
	c.cache = store.NewCache(p.cfg.CacheBytes) // negative: disabled
	t, err := p.loadTable()
	if err != nil {
		return err
	}
	if p.cfg.GossipPort >= 0 {
		// A node that was in a cluster joins the members it last saw,
		// even when started without --join: alone, it would serve the
		// slots of its old table, which the others may have given to a
		// replica since.
		p.seeds = append(slices.Clone(p.cfg.Join), p.loadPeers()...)
	}
	if len(p.seeds) == 0 {
		c.synced.Store(true)
	}
	c.majorityAt.Store(time.Now().UnixNano())
	if t.Covered() == 0 && len(p.seeds) == 0 && p.masterCapable() {
		// A node that starts alone is a cluster of one: it owns every slot.
		t = t.AssignRange(0, slots.NumSlots-1, p.id, nil, t.NextEpoch())
	}
	p.setTable(t)
	if err := p.loadHeld(); err != nil {
		return err
	}
	p.refreshView()
	if p.cfg.GossipPort < 0 {
		return nil
	}
	c.senders = make(map[string]chan []byte)
	// Both exist before either starts: membership's callbacks use the
	// elector, and the elector's transport uses membership.
	if err := p.newElection(); err != nil {
		return err
	}
	if err := p.startMembership(ctx); err != nil {
		return err
	}
	live, known := p.masters()
	c.el.SetMembers(live, known)
	c.el.SetCandidate(slices.Contains(known, p.id))
	if err := c.el.Start(ctx); err != nil {
		return fmt.Errorf("start election: %w", err)
	}
	p.refreshView()
	p.goFunc(p.clusterLoop)
	p.goFunc(p.replicaLoop)
	return nil
}

// masterCapable reports whether this node's role lets it own slots.
func (p *Peer) masterCapable() bool { return p.cfg.Role == RoleMaster || p.cfg.Role == RoleAuto }

// canMaster reports whether a member with role may own slots.
func canMaster(role string) bool { return role == RoleMaster || role == RoleAuto || role == "" }

func (p *Peer) startMembership(ctx context.Context) error {
	mc := membership.DefaultConfig()
	// Seeds that were not up yet, and partitions that ended, are retried
	// this often: cheap, since members already alive are skipped.
	mc.RejoinInterval = 3 * time.Second
	if p.cfg.Membership != nil {
		cp := *p.cfg.Membership
		mc = &cp
	}
	mc.NodeID = p.id
	mc.BindAddr = p.cfg.BindAddr
	mc.BindPort = p.cfg.GossipPort
	mc.AdvertiseAddr = p.cfg.AdvertiseAddr
	mc.Cluster = p.cfg.Cluster
	mc.Seeds = p.seeds
	mc.Meta = p.meta()
	mc.State = tableState{p}
	mc.OnMessage = p.onMessage
	mc.Logger = p.logger.Named("membership")
	if p.cfg.EncryptKey != "" {
		key, err := membership.ParseKey(p.cfg.EncryptKey)
		if err != nil {
			return fmt.Errorf("encrypt key: %w", err)
		}
		mc.EncryptKey = key
	}
	ml, err := membership.New(mc)
	if err != nil {
		return fmt.Errorf("membership: %w", err)
	}
	p.cl.ml = ml
	if err := ml.Start(ctx); err != nil {
		return fmt.Errorf("start membership: %w", err)
	}
	return nil
}

func (p *Peer) newElection() error {
	ec := election.DefaultConfig()
	if p.cfg.Election != nil {
		cp := *p.cfg.Election
		ec = &cp
	}
	ec.ID = p.id
	ec.Transport = electionTransport{p}
	ec.Logger = p.logger.Named("election")
	el, err := election.New(ec)
	if err != nil {
		return fmt.Errorf("election: %w", err)
	}
	p.cl.el = el
	return nil
}

// meta is what this node tells the others about itself.
func (p *Peer) meta() membership.Meta {
	return membership.Meta{
		ClientAddr: p.addr,
		HTTPAddr:   p.httpAddr,
		Role:       p.cfg.Role,
		Version:    p.cfg.Version,
		Tags: map[string]string{
			"executors": strconv.Itoa(p.cfg.Executors),
			"pipeline":  strconv.Itoa(p.cfg.Pipeline),
		},
	}
}

// stopCluster stops the election and leaves nothing of the gossip running.
func (p *Peer) stopCluster(ctx context.Context) error {
	var errs []error
	if p.cl.el != nil {
		errs = append(errs, p.cl.el.Shutdown(ctx))
	}
	if p.cl.ml != nil {
		errs = append(errs, p.cl.ml.Shutdown(ctx))
	}
	p.cl.peersMu.Lock()
	if p.cl.peers != nil {
		p.cl.peers.Close()
	}
	p.cl.peersMu.Unlock()
	return errors.Join(errs...)
}

// tableState carries the slot table in gossip.
type tableState struct{ p *Peer }

func (s tableState) LocalState() []byte {
	b, err := s.p.cl.table.Load().MarshalBinary()
	if err != nil {
		return nil
	}
	return b
}

func (s tableState) MergeRemoteState(buf []byte) {
	var t slots.Table
	if err := t.UnmarshalBinary(buf); err != nil {
		s.p.logger.Warn("ignoring a bad slot table from gossip", "error", err)
		return
	}
	s.p.mergeTable(&t, false)
	s.p.cl.synced.Store(true)
}

// mergeTable merges t into the node's table and keeps the result; if it
// changed anything and broadcast is set, it spreads the new table. It
// returns whether the table changed.
func (p *Peer) mergeTable(t *slots.Table, broadcast bool) bool {
	c := &p.cl
	c.tableMu.Lock()
	merged, changed := slots.Merge(c.table.Load(), t)
	if changed {
		p.setTable(merged)
	}
	c.tableMu.Unlock()
	if changed && broadcast && c.ml != nil {
		if b, err := merged.MarshalBinary(); err == nil {
			if err := c.ml.Broadcast(b); err != nil {
				p.logger.Warn("broadcast of the slot table failed", "error", err)
			}
		}
	}
	return changed
}

// setTable installs t and writes it to the data directory. Callers hold
// tableMu, or are starting.
func (p *Peer) setTable(t *slots.Table) {
	p.cl.table.Store(t)
	p.repl.noteTable()
	b, err := t.MarshalBinary()
	if err == nil {
		err = writeFileAtomic(filepath.Join(p.cfg.DataDir, tableFile), b)
	}
	if err != nil {
		p.logger.Error("could not keep the slot table", "error", err)
	}
}

func (p *Peer) loadTable() (*slots.Table, error) {
	b, err := os.ReadFile(filepath.Join(p.cfg.DataDir, tableFile))
	if errors.Is(err, os.ErrNotExist) {
		return slots.New(), nil
	}
	if err != nil {
		return nil, fmt.Errorf("read slot table: %w", err)
	}
	t := slots.New()
	if err := t.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("slot table %s: %w", tableFile, err)
	}
	return t, nil
}

// loadPeers reads the members this node last saw; none if it has no
// record.
func (p *Peer) loadPeers() []string {
	b, err := os.ReadFile(filepath.Join(p.cfg.DataDir, peersFile))
	if err != nil {
		return nil
	}
	var addrs []string
	if err := json.Unmarshal(b, &addrs); err != nil {
		p.logger.Warn("ignoring a bad peers file", "error", err)
		return nil
	}
	return addrs
}

// savePeers records the gossip addresses of the other live members when
// they changed.
func (p *Peer) savePeers() {
	var addrs []string
	for _, m := range p.cl.ml.Members() {
		if m.ID != p.id && m.State == membership.StateAlive && m.Addr != "" {
			addrs = append(addrs, m.Addr)
		}
	}
	slices.Sort(addrs)
	if len(addrs) == 0 || slices.Equal(addrs, p.cl.savedPeers) {
		return
	}
	b, _ := json.Marshal(addrs)
	if err := writeFileAtomic(filepath.Join(p.cfg.DataDir, peersFile), b); err != nil {
		p.logger.Warn("could not record the cluster's members", "error", err)
		return
	}
	p.cl.savedPeers = addrs
}

// writeFileAtomic replaces path with b durably: a crash leaves the old or
// the new contents, never a torn or empty file.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		return err
	}
	dir, err := os.Open(filepath.Dir(path))
	if err != nil {
		return err
	}
	defer dir.Close()
	return dir.Sync()
}

// refreshView rebuilds the member view from membership.
func (p *Peer) refreshView() {
	v := &clusterView{nodes: make(map[string]wire.NodeInfo)}
	t := p.cl.table.Load()
	if p.cl.ml == nil {
		v.nodes[p.id] = p.selfInfo(t)
		p.cl.view.Store(v)
		return
	}
	for _, m := range p.cl.ml.Members() {
		n := wire.NodeInfo{
			ID: m.ID, Addr: m.Meta.ClientAddr, GossipAddr: m.Addr, HTTPAddr: m.Meta.HTTPAddr,
			Role: m.Meta.Role, State: m.State.String(), Version: m.Meta.Version,
			Slots: t.SlotsOf(m.ID),
		}
		setRole(t, &n)
		n.Executors, _ = strconv.Atoi(m.Meta.Tags["executors"])
		n.Pipeline, _ = strconv.Atoi(m.Meta.Tags["pipeline"])
		if m.ID == p.id {
			n.Offset = p.store.Offset()
		}
		v.nodes[m.ID] = n
	}
	if _, ok := v.nodes[p.id]; !ok {
		v.nodes[p.id] = p.selfInfo(t)
	}
	p.cl.view.Store(v)
}

// masters returns the ids of the live masters and of every master known.
func (p *Peer) masters() (live, known []string) {
	if p.cl.ml == nil {
		return []string{p.id}, []string{p.id}
	}
	t := p.cl.table.Load()
	for _, m := range p.cl.ml.Members() {
		if (!canMaster(m.Meta.Role) && t.SlotsOf(m.ID) == 0) || isReplica(t, m.ID) {
			continue
		}
		switch m.State {
		case membership.StateAlive:
			live = append(live, m.ID)
			known = append(known, m.ID)
		case membership.StateDead, membership.StateLeaving:
			known = append(known, m.ID)
		}
	}
	if (p.masterCapable() || t.SlotsOf(p.id) > 0) && !isReplica(t, p.id) && !slices.Contains(live, p.id) {
		live = append(live, p.id)
		known = append(known, p.id)
	}
	slices.Sort(live)
	slices.Sort(known)
	return live, slices.Compact(known)
}

// coordinator returns the id of the coordinator this node follows.
func (p *Peer) coordinator() string {
	if p.cl.el == nil {
		return p.id
	}
	id, _ := p.cl.el.Coordinator()
	if id == "" {
		// A lone master is its own coordinator, even before its first
		// election has run.
		if _, known := p.masters(); len(known) == 1 && known[0] == p.id {
			return p.id
		}
	}
	return id
}

// topology is the node's view of the cluster: members and slot table.
func (p *Peer) topology() *wire.Topology {
	t := p.cl.table.Load()
	v := p.cl.view.Load()
	coord := p.coordinator()
	top := &wire.Topology{Cluster: p.cfg.Cluster, Epoch: t.Epoch(), Migrations: int(p.cl.moving.Load()), MigratingSlots: int(p.cl.pending.Load())}
	for _, n := range v.nodes {
		n.Slots = t.SlotsOf(n.ID)
		n.Coordinator = n.ID == coord
		setRole(t, &n)
		if n.ID == p.id {
			n.Offset = p.store.Offset()
			p.replicaInfo(&n)
		} else if n.Master == p.id {
			p.replicaLag(&n)
		}
		top.Nodes = append(top.Nodes, n)
	}
	slices.SortFunc(top.Nodes, func(a, b wire.NodeInfo) int {
		switch {
		case a.ID < b.ID:
			return -1
		case a.ID > b.ID:
			return 1
		}
		return 0
	})
	for _, r := range t.Ranges() {
		if r.Master == "" {
			continue
		}
		top.Slots = append(top.Slots, wire.SlotRange{Start: r.Start, End: r.End, Master: r.Master, Replicas: r.Replicas, Epoch: r.Epoch})
	}
	return top
}

// selfInfo describes this node when membership cannot.
func (p *Peer) selfInfo(t *slots.Table) wire.NodeInfo {
	n := wire.NodeInfo{
		ID: p.id, Addr: p.addr, HTTPAddr: p.httpAddr, Role: p.cfg.Role, State: "alive",
		Slots: t.SlotsOf(p.id), Version: p.cfg.Version, Offset: p.store.Offset(),
		Executors: p.cfg.Executors, Pipeline: p.cfg.Pipeline,
	}
	setRole(t, &n)
	p.replicaInfo(&n)
	return n
}

// setRole sets n's role as the table makes it: master while it owns
// slots, replica while it follows one (whatever role it was started
// with); a node of role auto that is neither is a master without slots
// yet.
func setRole(t *slots.Table, n *wire.NodeInfo) {
	switch {
	case n.Slots > 0 || t.SlotsOf(n.ID) > 0:
		n.Role, n.Master = RoleMaster, ""
	case isReplica(t, n.ID):
		n.Role = RoleReplica
		n.Master, _ = t.ReplicaOf(n.ID)
	case n.Role == RoleAuto:
		n.Role = RoleMaster
	}
}

// isReplica reports whether t lists node as a replica of some master.
func isReplica(t *slots.Table, node string) bool {
	_, ok := t.ReplicaOf(node)
	return ok
}

// route checks that this node masters key's slot. If not, it fills r
// with MOVED (and the owner's address) or UNAVAILABLE and returns false.
func (p *Peer) route(key string, r *reply) bool { return p.routeRead(key, false, r) }

// routeRead is route for a read that a replica may serve (replicaOK).
func (p *Peer) routeRead(key string, replicaOK bool, r *reply) bool {
	slot := int(slots.KeySlot(key))
	t := p.cl.table.Load()
	owner, _ := t.Owner(slot)
	if replicaOK && owner != p.id && p.replicaServes(t, slot) {
		return true
	}
	if owner == p.id {
		if !p.cl.synced.Load() {
			r.resp.Status = wire.StatusTryAgain
			r.resp.Error = "this node is joining the cluster and does not know the slot table yet"
			return false
		}
		if p.repl.following.Load() {
			r.resp.Status = wire.StatusTryAgain
			r.resp.Error = fmt.Sprintf("slot %d: this node is becoming its master", slot)
			return false
		}
		if p.cl.gates.held(slot) {
			// Copied to a new master that may already take writes: until
			// the flip arrives here, this copy may be stale.
			r.resp.Status = wire.StatusTryAgain
			r.resp.Error = fmt.Sprintf("slot %d is moving to another node", slot)
			return false
		}
		return true
	}
	if owner == "" {
		r.resp.Status = wire.StatusUnavailable
		r.resp.Error = fmt.Sprintf("slot %d has no master", slot)
		return false
	}
	n, ok := p.cl.view.Load().nodes[owner]
	if !ok || n.Addr == "" || n.State == membership.StateDead.String() {
		r.resp.Status = wire.StatusUnavailable
		r.resp.Error = fmt.Sprintf("slot %d: its master %s is unreachable", slot, owner)
		return false
	}
	r.resp.Status = wire.StatusMoved
	r.resp.Error = fmt.Sprintf("slot %d is served by %s", slot, owner)
	r.resp.Addr = n.Addr
	r.resp.Slot = slot
	return false
}

// peerClient returns the client this node uses to talk to the others.
func (p *Peer) peerClient(ctx context.Context) (*client.Client, error) {
	p.cl.peersMu.Lock()
	defer p.cl.peersMu.Unlock()
	if p.cl.peers != nil {
		return p.cl.peers, nil
	}
	cfg := client.Config{Seeds: []string{p.addr}, Token: p.cfg.Token, Name: "lkv-node " + p.id, MaxFrame: p.cfg.MaxFrame}
	if p.cfg.TLSCertFile != "" {
		tc, err := client.TLSConfig(p.cfg.TLSCAFile)
		if err != nil {
			return nil, err
		}
		cfg.TLS = tc
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		return nil, err
	}
	p.cl.peers = c
	return c, nil
}

// Topology returns the node's current view of the cluster: its members and
// the slot table. It is safe to call concurrently.
func (p *Peer) Topology() *wire.Topology { return p.topology() }
