package election

import (
	"errors"
	"fmt"
	"time"

	"github.com/hashicorp/go-hclog"
)

// Config configures an Elector. Build one with DefaultConfig and set ID and
// Transport. New copies it; changing it afterwards has no effect.
type Config struct {
	// ID is this master's node id, unique in the cluster and at most
	// MaxIDLen bytes. Required.
	ID string

	// Transport sends messages to other masters. Required: there is no
	// default, the peer provides one over memberlist.
	Transport Transport

	// Priority ranks ids: the live master with the highest priority wins
	// an election, ties broken by comparing ids as strings (higher wins).
	// It must be deterministic and give the same answer on every node.
	// If nil, ids compare as strings.
	Priority func(id string) int

	// HeartbeatInterval is how often the coordinator tells the live
	// masters it is still there; each answers with an acknowledgment that
	// renews the coordinator's lease. It must be below LeaderTimeout and
	// above the usual one-way message delay. If zero, it defaults to
	// 100ms.
	HeartbeatInterval time.Duration

	// LeaderTimeout is how long a follower waits without hearing its
	// coordinator before it calls it silent and elects, and how long a
	// node with no known coordinator (just started, or just regained a
	// majority) listens for one before it elects. It also bounds leases:
	// an acknowledgment counts for LeaderTimeout-HeartbeatInterval, and a
	// node does not vote or elect within LeaderTimeout of acknowledging a
	// coordinator. Make it several heartbeats, so a few lost datagrams do
	// not start an election. If zero, it defaults to 500ms.
	LeaderTimeout time.Duration

	// AnswerTimeout is how long an electing node waits for an Answer from
	// a higher master before it claims leadership (with enough votes). It
	// must cover a round trip. If zero, it defaults to 200ms.
	AnswerTimeout time.Duration

	// CoordinatorTimeout is how long a node that received an Answer
	// waits for the Coordinator message before it elects again. It must
	// cover the higher node's own AnswerTimeout plus a delivery. If zero,
	// it defaults to 400ms.
	CoordinatorTimeout time.Duration

	// InitialEpoch is the highest coordinator epoch this node already
	// knows of, for example from the gossiped slot table or a previous
	// run; every epoch it mints is above it. Zero is fine for a new
	// cluster: a node learns the epoch from the first message it gets.
	InitialEpoch uint64

	// MessageQueue is how many received messages may wait for the run
	// loop; HandleMessage drops a message when the queue is full. If
	// zero, it defaults to 256.
	MessageQueue int

	// EventBuffer is the capacity of the Events channel; when it is full
	// the oldest event is dropped. If zero, it defaults to 32.
	EventBuffer int

	// Logger receives the elector's logs. If nil, hclog.New named
	// "election".
	Logger hclog.Logger
}

// DefaultConfig returns a fresh Config with LAN timeouts; the caller sets
// ID and Transport.
func DefaultConfig() *Config {
	return &Config{
		HeartbeatInterval:  100 * time.Millisecond,
		LeaderTimeout:      500 * time.Millisecond,
		AnswerTimeout:      200 * time.Millisecond,
		CoordinatorTimeout: 400 * time.Millisecond,
		MessageQueue:       256,
		EventBuffer:        32,
	}
}

// withDefaults returns a copy of c with zero fields filled in, except
// Logger, which New fills in so that Validate creates nothing.
func (c *Config) withDefaults() *Config {
	cc := *c
	d := DefaultConfig()
	if cc.HeartbeatInterval == 0 {
		cc.HeartbeatInterval = d.HeartbeatInterval
	}
	if cc.LeaderTimeout == 0 {
		cc.LeaderTimeout = d.LeaderTimeout
	}
	if cc.AnswerTimeout == 0 {
		cc.AnswerTimeout = d.AnswerTimeout
	}
	if cc.CoordinatorTimeout == 0 {
		cc.CoordinatorTimeout = d.CoordinatorTimeout
	}
	if cc.MessageQueue == 0 {
		cc.MessageQueue = d.MessageQueue
	}
	if cc.EventBuffer == 0 {
		cc.EventBuffer = d.EventBuffer
	}
	return &cc
}

// Validate checks the whole Config (after defaults for zero fields) and
// reports every field that is wrong and why.
func (c *Config) Validate() error {
	if c == nil {
		return errors.New("election: nil Config")
	}
	cc := c.withDefaults()
	var errs []error
	bad := func(field, why string, args ...any) {
		errs = append(errs, fmt.Errorf("election: config %s: "+why, append([]any{field}, args...)...))
	}
	if cc.ID == "" || len(cc.ID) > MaxIDLen {
		bad("ID", "%d bytes, want 1..%d", len(cc.ID), MaxIDLen)
	}
	if cc.Transport == nil {
		bad("Transport", "is nil")
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"HeartbeatInterval", cc.HeartbeatInterval},
		{"LeaderTimeout", cc.LeaderTimeout},
		{"AnswerTimeout", cc.AnswerTimeout},
		{"CoordinatorTimeout", cc.CoordinatorTimeout},
	} {
		if f.d < 0 {
			bad(f.name, "%v is negative", f.d)
		}
	}
	if cc.HeartbeatInterval > 0 && cc.HeartbeatInterval >= cc.LeaderTimeout {
		bad("HeartbeatInterval", "%v must be below LeaderTimeout %v", cc.HeartbeatInterval, cc.LeaderTimeout)
	}
	if cc.MessageQueue < 0 {
		bad("MessageQueue", "%d is negative", cc.MessageQueue)
	}
	if cc.EventBuffer < 0 {
		bad("EventBuffer", "%d is negative", cc.EventBuffer)
	}
	return errors.Join(errs...)
}
