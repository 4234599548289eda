// Package electiontest provides an in-memory network for testing election:
// a Transport per node that delivers synchronously to the receiving
// Elector's HandleMessage, with controls to cut links, partition the
// network, drop a fraction of messages at random, and filter messages.
//
// Messages are encoded and decoded on the way, so tests exercise the wire
// format too. Delivery is immediate and in order; the elector's own queue
// makes it asynchronous. Nothing here starts a goroutine, so it works
// inside testing/synctest bubbles.
package electiontest

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"

	"github.com/lambdakv/lambdakv/election"
)

// ErrUnreachable is returned by Send when the target is not registered or
// the link is cut. Random drops are silent, like a lossy network.
var ErrUnreachable = errors.New("electiontest: unreachable")

// Handler receives messages; *election.Elector implements it.
type Handler interface {
	HandleMessage(m election.Message)
}

var _ Handler = (*election.Elector)(nil)

// Filter decides whether a message is delivered; return false to drop it.
// It is called with the Network's lock held and must not call the Network.
type Filter func(from, to string, m election.Message) bool

// Network is a set of nodes and the links between them. All methods are
// safe to call concurrently. The zero value is not usable; use NewNetwork.
type Network struct {
	mu       sync.Mutex // guards nodes, cut, dropRate, rng, filter
	nodes    map[string]Handler
	cut      map[link]bool
	dropRate float64
	rng      *rand.Rand
	filter   Filter

	delivered, dropped atomic.Int64
}

type link struct{ a, b string } // a < b

func newLink(a, b string) link {
	if a > b {
		a, b = b, a
	}
	return link{a, b}
}

// NewNetwork returns an empty, fully connected network whose random drops
// are drawn from a generator seeded with seed.
func NewNetwork(seed uint64) *Network {
	return &Network{
		nodes: make(map[string]Handler),
		cut:   make(map[link]bool),
		rng:   rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
}

// Transport returns the transport node id sends through.
func (n *Network) Transport(id string) *Transport { return &Transport{net: n, id: id} }

// Register attaches h as node id, replacing any previous handler; messages
// to id go to h from now on.
func (n *Network) Register(id string, h Handler) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.nodes[id] = h
}

// Unregister detaches node id, as if its process died: sends to it fail
// with ErrUnreachable.
func (n *Network) Unregister(id string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.nodes, id)
}

// Disconnect cuts the link between a and b, both ways.
func (n *Network) Disconnect(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.cut[newLink(a, b)] = true
}

// Connect restores the link between a and b.
func (n *Network) Connect(a, b string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	delete(n.cut, newLink(a, b))
}

// Partition cuts every link between nodes of different groups; links
// within a group are left as they are.
func (n *Network) Partition(groups ...[]string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for i, g := range groups {
		for _, h := range groups[i+1:] {
			for _, a := range g {
				for _, b := range h {
					n.cut[newLink(a, b)] = true
				}
			}
		}
	}
}

// Heal restores every link.
func (n *Network) Heal() {
	n.mu.Lock()
	defer n.mu.Unlock()
	clear(n.cut)
}

// SetDropRate makes Send silently drop each message with probability p
// (0 to 1).
func (n *Network) SetDropRate(p float64) {
	if p < 0 || p > 1 {
		panic(fmt.Sprintf("electiontest: drop rate %v outside [0, 1]", p))
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	n.dropRate = p
}

// SetFilter installs f (nil removes it); it sees every message that the
// links and the drop rate let through.
func (n *Network) SetFilter(f Filter) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.filter = f
}

// Stats returns how many messages were delivered and dropped (randomly or
// by the filter) so far.
func (n *Network) Stats() (delivered, dropped int64) {
	return n.delivered.Load(), n.dropped.Load()
}

// route decides a message's fate and returns its receiver, nil for a
// silent drop.
func (n *Network) route(from, to string, m election.Message) (Handler, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	h, ok := n.nodes[to]
	if !ok || n.cut[newLink(from, to)] {
		return nil, fmt.Errorf("send %v %s -> %s: %w", m.Kind, from, to, ErrUnreachable)
	}
	if (n.dropRate > 0 && n.rng.Float64() < n.dropRate) || (n.filter != nil && !n.filter(from, to, m)) {
		n.dropped.Add(1)
		return nil, nil
	}
	n.delivered.Add(1)
	return h, nil
}

// Transport is one node's view of the Network. Safe to call concurrently.
type Transport struct {
	net *Network
	id  string
}

var _ election.Transport = (*Transport)(nil)

// Send encodes m, routes it and hands the decoded copy to the receiver.
// It fails if m does not encode or the receiver is unreachable; random and
// filtered drops return nil.
func (t *Transport) Send(to string, m election.Message) error {
	b, err := m.MarshalBinary()
	if err != nil {
		return fmt.Errorf("send %v to %s: %w", m.Kind, to, err)
	}
	var got election.Message
	if err := got.UnmarshalBinary(b); err != nil {
		return fmt.Errorf("send %v to %s: decode: %w", m.Kind, to, err)
	}
	h, err := t.net.route(t.id, to, got)
	if h == nil {
		return err
	}
	h.HandleMessage(got)
	return nil
}
