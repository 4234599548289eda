// Package membership tells a lambdakv node which other nodes are in its
// cluster, what they publish about themselves, and when one joins, changes,
// leaves or dies. It wraps hashicorp/memberlist (SWIM gossip with Lifeguard
// failure detection), and is the only package that imports it. It knows
// nothing of slots or peers: the slot table it carries is an opaque State.
//
// # Basics
//
// New copies and validates a Config and allocates; it starts nothing. Start
// binds the gossip port (UDP and TCP; port 0 picks one, see LocalAddr),
// starts memberlist, and joins the seeds. A node without seeds is a cluster
// of one that others join; any member is a valid seed. Leave announces a
// departure; Shutdown only stops (the others then see a failure).
//
// Members returns a snapshot of the members with their gossip address,
// Meta and MemberState, including recently dead and left ones. Events
// delivers Join, Update, Leave and Fail events; it never makes memberlist
// wait (see Events for how a slow consumer is handled). Meta (client and
// HTTP addresses, role, version, tags) is gossiped with each node's alive
// message, in a compact encoding that must fit in 512 bytes; UpdateMeta
// changes it at run time.
//
// The peer's slot table travels as a State: memberlist's push/pull (every
// Profile.PushPullInterval and on every join, over TCP) exchanges whole
// states, which makes every node converge and brings a new node up to date
// when it joins; Broadcast spreads a changed state by gossip in a few
// GossipIntervals, falling back to a notice and a TCP pull when the state
// does not fit in a UDP packet. SendTo and Config.OnMessage carry other
// node-to-node messages (the election's) reliably over TCP.
//
// The Cluster name is memberlist's packet label: clusters with different
// names ignore each other's packets even on one network. An EncryptKey
// encrypts and authenticates all gossip (AES-GCM); a node without the key
// cannot join or read it.
//
// memberlist never contacts a member again once it declared it dead. So
// every RejoinInterval a node joins its seeds and its recently dead members
// again: after a partition each side has declared the other dead, and this
// loop is what merges them once the network heals, and what finds a crashed
// node that restarted without seeds.
//
// Profile holds the timers. LANProfile (the default) declares a crashed
// node dead in about 2.5–3.5 s in small clusters; TestProfile, for
// in-process test clusters (DefaultTestConfig), in 100–200 ms. Config.DropTo
// cuts the network between chosen nodes, for partition tests.
//
// # Caveats
//
// Failure detection trades speed for false alarms. A node is suspected when
// a probe, its indirect probes and a TCP ping all fail within one
// ProbeInterval, and declared dead when the suspicion is not refuted in time
// (Profile documents the formula and DetectionTime computes it). A node
// that stalls for longer than that (GC, swap, a saturated CPU, a congested
// link) is declared dead and comes back with a Join when it answers again;
// its state in the meantime is the peer's to handle. Slower timers mean fewer
// false alarms and a longer outage for slots of a node that really died;
// the detection time also grows with log10 of the cluster size.
//
// memberlist v0.7.0 does not expose suspicion, nor whether a member left or
// failed. A member is therefore reported alive until declared dead, and a
// Leave is recognised by the leaving mark that Leave first gossips in the
// node's metadata: a node that receives memberlist's leave before that mark
// (unlikely, since Leave waits for the mark to be sent) reports a Fail.
//
// Events coalesce per member when the consumer falls behind: only the
// latest event of each member is kept, so a quick Fail and Join of one node
// can arrive as a single Join. Members is always current.
//
// Broadcast reaches every node only while gossip flows; a node that misses
// one (a partition, a lost packet) gets the state at its next push/pull, so
// State.MergeRemoteState must merge by version, not apply in order. A
// broadcast larger than MaxBroadcastSize costs a TCP push/pull from every
// node to its origin.
//
// The rejoin loop retries dead members for GoneRetention (one hour by
// default) and seeds forever; a dead host that drops packets costs up to
// Profile.TCPTimeout per attempt, in the loop's goroutine. A node that left
// stops rejoining; to come back it needs a new Membership.
//
// memberlist's own log lines go to the Logger at debug level, including
// its errors (a peer with the wrong key or cluster name shows up there and
// as a failed join).
package membership
