package membership

import (
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/memberlist"
)

// Profile holds the gossip and failure-detection timers handed to
// memberlist. Use LANProfile or TestProfile and change what you need; a zero
// Profile in a Config means LANProfile. A Profile is a plain value, safe to
// copy.
//
// How long a crashed node takes to be declared dead (the Fail event) is
// roughly
//
//	ProbeInterval..2×ProbeInterval  until a live member probes it (every
//	                                member probes one member per interval)
//	                                and the probe (ProbeTimeout, then
//	                                indirect and TCP probes) fails at the
//	                                end of its interval: it is suspect
//	+ suspicion timeout             SuspicionMult × max(1, log10(n)) ×
//	                                ProbeInterval when SuspicionMult−2 other
//	                                members confirm the suspicion (or when
//	                                there are too few to), up to
//	                                SuspicionMaxTimeoutMult times that
//	                                without confirmations
//	+ one GossipInterval or so      for the dead message to spread
//
// where n is the number of members. DetectionTime computes these bounds.
// Shorter timers detect sooner but declare a slow node (a long GC or I/O
// pause, a saturated CPU, a congested link) dead more often; it refutes
// when it recovers and rejoins, but the peer may already have acted on the
// Fail.
type Profile struct {
	// GossipInterval is how often a node sends queued broadcasts (member
	// changes and Broadcast messages) to GossipNodes random members.
	GossipInterval time.Duration
	// GossipNodes is the number of members each gossip round goes to.
	GossipNodes int
	// GossipToTheDeadTime is how long members declared dead still receive
	// gossip, which lets a falsely declared node refute quickly.
	GossipToTheDeadTime time.Duration

	// ProbeInterval is the period of the failure detector: each node
	// probes one member per interval, round-robin.
	ProbeInterval time.Duration
	// ProbeTimeout is how long a direct UDP ping waits for its ack before
	// indirect probes (IndirectChecks members) and a TCP ping are tried.
	// It should exceed the 99th percentile round-trip time.
	ProbeTimeout time.Duration
	// IndirectChecks is the number of members asked to probe on our
	// behalf after a direct probe fails.
	IndirectChecks int
	// SuspicionMult scales the suspicion timeout (see the type doc).
	SuspicionMult int
	// SuspicionMaxTimeoutMult bounds the suspicion timeout when no other
	// member confirms a suspicion, as a multiple of the minimum.
	SuspicionMaxTimeoutMult int
	// AwarenessMaxMultiplier bounds how far a node that sees itself as
	// slow (missed acks, refutations) stretches its own probe interval
	// and timeout (Lifeguard local health).
	AwarenessMaxMultiplier int

	// RetransmitMult sets how many times each broadcast is sent:
	// RetransmitMult × ceil(log10(n+1)).
	RetransmitMult int
	// PushPullInterval is the period of full state exchanges (member list
	// and State) with one random member; memberlist scales it up for
	// clusters above 32 nodes.
	PushPullInterval time.Duration
	// TCPTimeout bounds each TCP exchange: joins, push/pull, SendTo and
	// TCP fallback pings.
	TCPTimeout time.Duration
	// DeadNodeReclaimTime is how long after a node was declared dead its
	// id may come back from a different address (a restart on another IP
	// or port). Zero means never, as in memberlist.
	DeadNodeReclaimTime time.Duration
}

// LANProfile returns the default timers, for a LAN (round-trip times
// well under ProbeTimeout). They are memberlist's LAN defaults with a
// faster probe (500 ms, timeout 250 ms) and a shorter, tighter suspicion
// (SuspicionMult 4, SuspicionMaxTimeoutMult 3), so that a crashed node is
// declared dead within a few seconds: for up to 10 members DetectionTime
// gives 2.5 s with confirmations and 7.2 s without; measured on loopback
// with 4 members, 2.8–3.4 s. Each node sends about 2 probes per second,
// and gossip every 200 ms while it has something to send.
func LANProfile() Profile {
	return Profile{
		GossipInterval:          200 * time.Millisecond,
		GossipNodes:             3,
		GossipToTheDeadTime:     15 * time.Second,
		ProbeInterval:           500 * time.Millisecond,
		ProbeTimeout:            250 * time.Millisecond,
		IndirectChecks:          3,
		SuspicionMult:           4,
		SuspicionMaxTimeoutMult: 3,
		AwarenessMaxMultiplier:  8,
		RetransmitMult:          4,
		PushPullInterval:        15 * time.Second,
		TCPTimeout:              5 * time.Second,
		DeadNodeReclaimTime:     10 * time.Second,
	}
}

// TestProfile returns shrunk timers for in-process clusters on loopback,
// as serf's tests use (GossipInterval 5 ms, ProbeInterval 50 ms,
// ProbeTimeout 25 ms, SuspicionMult 1): a crashed node is declared dead in
// about 100–200 ms (measured: 120–175 ms with 4 members). Never use it
// across a real network.
func TestProfile() Profile {
	return Profile{
		GossipInterval:          5 * time.Millisecond,
		GossipNodes:             3,
		GossipToTheDeadTime:     100 * time.Millisecond,
		ProbeInterval:           50 * time.Millisecond,
		ProbeTimeout:            25 * time.Millisecond,
		IndirectChecks:          1,
		SuspicionMult:           1,
		SuspicionMaxTimeoutMult: 6,
		AwarenessMaxMultiplier:  8,
		RetransmitMult:          4,
		PushPullInterval:        500 * time.Millisecond,
		TCPTimeout:              time.Second,
		DeadNodeReclaimTime:     100 * time.Millisecond,
	}
}

// DetectionTime returns the bounds of the time between a crash and its
// Fail event for a cluster of n members: min when the first probe comes at
// once and enough members confirm the suspicion, max when the first probe
// comes a full ProbeInterval late and none confirms. The first probe comes
// within one ProbeInterval on average, but can come later in large
// clusters; a slow prober (Lifeguard) stretches both by up to
// AwarenessMaxMultiplier; and scheduling delays add to both.
func (p Profile) DetectionTime(n int) (min, max time.Duration) {
	scale := math.Max(1, math.Log10(math.Max(1, float64(n))))
	susp := time.Duration(float64(p.SuspicionMult) * scale * float64(p.ProbeInterval))
	maxSusp := susp
	// memberlist waits for confirmations only when it expects some.
	if k := p.SuspicionMult - 2; k >= 1 && n-2 >= k {
		maxSusp = time.Duration(p.SuspicionMaxTimeoutMult) * susp
	}
	return p.ProbeInterval + susp, 2*p.ProbeInterval + maxSusp + p.GossipInterval
}

// validate checks every field and names the one at fault.
func (p Profile) validate() error {
	durations := []struct {
		name string
		d    time.Duration
	}{
		{"GossipInterval", p.GossipInterval},
		{"GossipToTheDeadTime", p.GossipToTheDeadTime},
		{"ProbeInterval", p.ProbeInterval},
		{"ProbeTimeout", p.ProbeTimeout},
		{"PushPullInterval", p.PushPullInterval},
		{"TCPTimeout", p.TCPTimeout},
	}
	for _, f := range durations {
		if f.d <= 0 {
			return fmt.Errorf("profile: %s = %v: must be positive", f.name, f.d)
		}
	}
	if p.ProbeTimeout >= p.ProbeInterval {
		return fmt.Errorf("Profile.ProbeTimeout = %v: must be less than ProbeInterval (%v)",
			p.ProbeTimeout, p.ProbeInterval)
	}
	counts := []struct {
		name string
		n    int
	}{
		{"GossipNodes", p.GossipNodes},
		{"IndirectChecks", p.IndirectChecks},
		{"SuspicionMult", p.SuspicionMult},
		{"SuspicionMaxTimeoutMult", p.SuspicionMaxTimeoutMult},
		{"AwarenessMaxMultiplier", p.AwarenessMaxMultiplier},
		{"RetransmitMult", p.RetransmitMult},
	}
	for _, f := range counts {
		if f.n < 1 {
			return fmt.Errorf("profile: %s = %d: must be at least 1", f.name, f.n)
		}
	}
	if p.DeadNodeReclaimTime < 0 {
		return fmt.Errorf("Profile.DeadNodeReclaimTime = %v: must not be negative", p.DeadNodeReclaimTime)
	}
	return nil
}

// apply copies the timers into a memberlist config.
func (p Profile) apply(c *memberlist.Config) {
	c.GossipInterval = p.GossipInterval
	c.GossipNodes = p.GossipNodes
	c.GossipToTheDeadTime = p.GossipToTheDeadTime
	c.ProbeInterval = p.ProbeInterval
	c.ProbeTimeout = p.ProbeTimeout
	c.IndirectChecks = p.IndirectChecks
	c.SuspicionMult = p.SuspicionMult
	c.SuspicionMaxTimeoutMult = p.SuspicionMaxTimeoutMult
	c.AwarenessMaxMultiplier = p.AwarenessMaxMultiplier
	c.RetransmitMult = p.RetransmitMult
	c.PushPullInterval = p.PushPullInterval
	c.TCPTimeout = p.TCPTimeout
	c.DeadNodeReclaimTime = p.DeadNodeReclaimTime
}
