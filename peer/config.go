package peer

import (
	"errors"
	"fmt"
	"runtime"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/membership"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/store"
)

// Roles a node can have.
const (
	RoleMaster  = "master"
	RoleCompute = "compute"
	// RoleReplica follows a master: the coordinator picks which.
	RoleReplica = "replica"
	// RoleAuto joins as a replica where a master has fewer than Replicas,
	// else as a master.
	RoleAuto = "auto"
)

// Default ports.
const (
	DefaultPort       = 7370
	DefaultGossipPort = 7371
	DefaultHTTPPort   = 7372
)

// Config configures a node. Use DefaultConfig and change what you need.
type Config struct {
	// NodeID names the node in the cluster. If blank, a random id is made
	// on first start and kept in DataDir, so it is stable across restarts.
	NodeID string

	// Cluster names the cluster; nodes of different clusters never merge.
	// If blank, "lkv".
	Cluster string

	// DataDir holds the store file and the node id. Required.
	DataDir string

	// BindAddr is the address the client and HTTP listeners bind to, such
	// as "127.0.0.1" or "0.0.0.0".
	BindAddr string

	// AdvertiseAddr is the host other nodes and clients use to reach this
	// one. If blank, BindAddr is used, or the bound address when that is
	// unspecified.
	AdvertiseAddr string

	// Port is the client port. Zero picks a free port (see Addr).
	Port int

	// GossipPort is the membership (SWIM gossip) port. Zero picks a free
	// port; negative disables gossip, making a lone node nobody can join.
	GossipPort int

	// Join lists gossip addresses (host[:port], default port 7371) of any
	// running nodes to join. Empty means the node starts a cluster of its
	// own and owns every slot.
	Join []string

	// EncryptKey, if not blank, encrypts gossip: base64 of 16, 24 or 32
	// bytes, the same on every node.
	EncryptKey string

	// Role is "auto" (the default, also for ""): a replica where a master
	// has fewer than Replicas, else a master; "master" (owns slots);
	// "replica" (follows a master); or "compute" (executes and caches,
	// owns no slots). A master replaced by a failover comes back as a
	// replica of its successor, whatever its role.
	Role string

	// Replicas is how many replicas each master should have: joining
	// nodes with role auto become replicas of the masters that lack them.
	// The coordinator's value counts.
	Replicas int

	// ReplicaAckTimeout bounds how long a put with min_replicas waits for
	// its replicas. Zero means 5s.
	ReplicaAckTimeout time.Duration

	// IsolationTimeout is how long a master that has replicas keeps taking
	// writes once it cannot see a majority of the masters: after it, it
	// refuses them (UNAVAILABLE), because the majority side may promote
	// one of its replicas. It must stay below the failure detection time.
	// Zero means 1.5s, which rides out a re-election after the
	// coordinator dies; negative means never refuse.
	IsolationTimeout time.Duration

	// ReplicaForget is how long a replica may stay dead before the
	// coordinator drops it from the slot table, so that its master can be
	// given another (a master replaced by a failover is listed as its
	// successor's replica: back within this time, it follows it; later,
	// it joins as a new node). Zero means 10 minutes.
	ReplicaForget time.Duration

	// CacheBytes bounds the cache of immutable values fetched from other
	// nodes, in bytes. Zero means 256 MiB; negative disables the cache.
	CacheBytes int64

	// Membership tunes gossip (failure detection timers, rejoin interval).
	// Nil means membership.DefaultConfig(); its identity, addresses and
	// seeds are always taken from this Config.
	Membership *membership.Config

	// Election tunes the coordinator election. Nil means
	// election.DefaultConfig().
	Election *election.Config

	// RebalanceInterval is how often the coordinator checks the slot
	// table against the live masters. Zero means 1s.
	RebalanceInterval time.Duration

	// HTTPPort serves /metrics, /v1/status and the status page. Zero picks a
	// free port; negative disables HTTP.
	HTTPPort int

	// Token, if not blank, must be presented in a hello before any other
	// request on a connection.
	Token string

	// TLSCertFile and TLSKeyFile enable TLS on the client port when both are
	// set (PEM files).
	TLSCertFile string
	TLSKeyFile  string

	// TLSCAFile is the PEM CA file this node verifies the certificates of
	// other nodes with, when TLS is on. If blank, the system roots.
	TLSCAFile string

	// MaxValueSize is the largest value accepted, in bytes. Zero means
	// 256 MiB.
	MaxValueSize int64

	// MaxFrame is the largest frame accepted, in bytes. Zero means
	// MaxValueSize plus 1 MiB.
	MaxFrame int

	// MaxConns caps open client connections; further ones are closed at
	// once. Zero means 10000.
	MaxConns int

	// MaxInflight caps the requests one connection may have unanswered.
	// Zero means 1024.
	MaxInflight int

	// MaxConnBytes caps the request and response bytes one connection may
	// hold; past it the node stops reading from that connection until
	// responses drain. A single request larger than this is still served
	// alone. Zero means 64 MiB.
	MaxConnBytes int64

	// MaxPendingBytes caps the bytes of large frames being received on all
	// connections together. It must be at least MaxFrame. Zero means
	// 4 × MaxFrame.
	MaxPendingBytes int64

	// AuthTimeout closes a connection that has not said hello this long
	// after it opened, when a Token is set. Zero means 10s.
	AuthTimeout time.Duration

	// ShutdownTimeout bounds how long Shutdown waits for requests in flight
	// when its context has no deadline. Zero means 10s.
	ShutdownTimeout time.Duration

	// Store configures storage. Nil means store.DefaultOptions().
	Store *store.Options

	// Executors is how many lambdas run at once. Zero means the number of
	// CPUs; negative means none (the node stores only).
	Executors int

	// Pipeline is how many executions may wait for an executor, with their
	// dependencies being fetched. Zero means 2 × Executors.
	Pipeline int

	// Jail configures the lambda sandbox. Nil means jail.DefaultConfig().
	Jail *jail.Config

	// LinkDelay is a one-way delay added to each direction of every
	// connection accepted on the client port, emulating a slower network
	// for lab and testing use (lkv lab up); node-to-node traffic arrives
	// on that port too, so every TCP hop is delayed once. Zero adds none.
	LinkDelay time.Duration

	// LinkRate limits each direction of those connections, in bytes per
	// second, for lab and testing use. Zero means no limit.
	LinkRate int64

	// Version is the software version reported by hello and /v1/status.
	Version string

	// Logger receives the node's logs. Nil means hclog.New named "peer".
	Logger hclog.Logger
}

// DefaultConfig returns a fresh Config with the documented defaults and the
// default ports on 127.0.0.1. DataDir must still be set.
func DefaultConfig() *Config {
	return &Config{
		BindAddr:   "127.0.0.1",
		Port:       DefaultPort,
		GossipPort: DefaultGossipPort,
		HTTPPort:   DefaultHTTPPort,
	}
}

// withDefaults returns a copy of c with zero fields filled in.
func (c *Config) withDefaults() *Config {
	cc := *c
	if cc.Cluster == "" {
		cc.Cluster = "lkv"
	}
	if cc.Role == "" {
		cc.Role = RoleAuto
	}
	if cc.ReplicaAckTimeout == 0 {
		cc.ReplicaAckTimeout = 5 * time.Second
	}
	if cc.ReplicaForget == 0 {
		cc.ReplicaForget = 10 * time.Minute
	}
	if cc.IsolationTimeout == 0 {
		cc.IsolationTimeout = 1500 * time.Millisecond
	}
	if cc.CacheBytes == 0 {
		cc.CacheBytes = 256 << 20
	}
	if cc.RebalanceInterval == 0 {
		cc.RebalanceInterval = time.Second
	}
	if cc.MaxValueSize == 0 {
		cc.MaxValueSize = wire.DefaultMaxValue
	}
	if cc.MaxFrame == 0 {
		cc.MaxFrame = int(cc.MaxValueSize) + 1<<20
	}
	if cc.MaxConns == 0 {
		cc.MaxConns = 10000
	}
	if cc.MaxInflight == 0 {
		cc.MaxInflight = 1024
	}
	if cc.MaxConnBytes == 0 {
		cc.MaxConnBytes = 64 << 20
	}
	if cc.MaxPendingBytes == 0 {
		cc.MaxPendingBytes = 4 * int64(cc.MaxFrame)
	}
	if cc.AuthTimeout == 0 {
		cc.AuthTimeout = 10 * time.Second
	}
	if cc.ShutdownTimeout == 0 {
		cc.ShutdownTimeout = 10 * time.Second
	}
	if cc.Executors == 0 {
		cc.Executors = runtime.NumCPU()
	}
	if cc.Executors < 0 {
		cc.Executors = 0
	}
	if cc.Pipeline == 0 {
		cc.Pipeline = 2 * cc.Executors
	}
	if cc.Store == nil {
		cc.Store = store.DefaultOptions()
	} else {
		so := *cc.Store
		cc.Store = &so
	}
	cc.Store.MaxValueSize = cc.MaxValueSize
	if cc.Jail == nil {
		cc.Jail = jail.DefaultConfig()
	}
	if cc.Version == "" {
		cc.Version = "dev"
	}
	if cc.Logger == nil {
		cc.Logger = hclog.New(&hclog.LoggerOptions{Name: "peer"})
	}
	return &cc
}

// Validate reports the first field that is wrong and why.
func (c *Config) Validate() error {
	cc := c.withDefaults()
	switch {
	case cc.DataDir == "":
		return errors.New("config: DataDir is required")
	case cc.Port < 0 || cc.Port > 65535:
		return fmt.Errorf("config: Port %d out of range", cc.Port)
	case cc.HTTPPort > 65535:
		return fmt.Errorf("config: HTTPPort %d out of range", cc.HTTPPort)
	case cc.MaxValueSize < 0 || cc.MaxValueSize > 1<<31-2:
		return fmt.Errorf("config: MaxValueSize %d out of range (at most 2 GiB - 2)", cc.MaxValueSize)
	case int64(cc.MaxFrame) <= cc.MaxValueSize:
		return fmt.Errorf("config: MaxFrame %d must exceed MaxValueSize %d", cc.MaxFrame, cc.MaxValueSize)
	case cc.MaxPendingBytes < int64(cc.MaxFrame):
		return fmt.Errorf("config: MaxPendingBytes %d must be at least MaxFrame %d", cc.MaxPendingBytes, cc.MaxFrame)
	case cc.MaxInflight < 1 || cc.MaxConns < 1 || cc.MaxConnBytes < 1:
		return errors.New("config: MaxInflight, MaxConns and MaxConnBytes must be positive")
	case (cc.TLSCertFile == "") != (cc.TLSKeyFile == ""):
		return errors.New("config: TLSCertFile and TLSKeyFile must be set together")
	case cc.GossipPort > 65535:
		return fmt.Errorf("config: GossipPort %d out of range", cc.GossipPort)
	case cc.Role != "" && cc.Role != RoleAuto && cc.Role != RoleMaster && cc.Role != RoleReplica && cc.Role != RoleCompute:
		return fmt.Errorf("config: Role %q: want auto, master, replica or compute", cc.Role)
	case cc.Replicas < 0:
		return fmt.Errorf("config: Replicas %d: must not be negative", cc.Replicas)
	case cc.GossipPort < 0 && len(cc.Join) > 0:
		return errors.New("config: Join needs gossip (GossipPort is negative)")
	case cc.Pipeline < 0:
		return fmt.Errorf("config: Pipeline %d must not be negative", cc.Pipeline)
	case cc.LinkDelay < 0 || cc.LinkRate < 0:
		return errors.New("config: LinkDelay and LinkRate must not be negative")
	}
	return cc.Jail.Validate()
}
