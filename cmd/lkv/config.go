package main

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/membership"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/store"
)

// Defaults of agent options that peer.Config does not define.
const (
	defaultCluster    = "lkv"
	defaultRole       = "auto"
	defaultCacheBytes = 256 << 20
	defaultLogLevel   = "info"
)

// agentConfig is the agent's configuration once every layer is applied
// (DESIGN §8): defaults, then the HCL file, then flags given on the command
// line, then LKV_* environment variables. It is a plain value.
type agentConfig struct {
	Dev        bool
	NodeID     string
	DataDir    string
	Bind       string
	Advertise  string
	Port       int
	GossipPort int
	HTTPPort   int // negative disables HTTP
	Join       []string
	Cluster    string
	Encrypt    string // base64 of a 16, 24 or 32 byte key
	Token      string
	Role       string
	Replicas   int
	// IsolationTimeout and ReplicaAckTimeout: zero means the node's
	// defaults.
	IsolationTimeout  time.Duration
	ReplicaAckTimeout time.Duration
	ReplicaForget     time.Duration
	// Failure detection; zero means membership's LAN profile.
	ProbeInterval time.Duration
	SuspicionMult int
	Executors     int // executorsAuto: number of CPUs; zero or negative: none (the node only stores)
	Pipeline      int // zero: 2 × executors
	CacheBytes    int64
	TLSCert       string
	TLSCA         string
	TLSKey        string
	Sync          string // "" means always, or none with Dev
	MaxValueSize  int64  // zero: 256 MiB
	LogLevel      string
	LogJSON       bool
	JailDir       string
	Limits        jail.Limits // zero fields: the jail's defaults
	MaxLimits     jail.Limits // zero fields: the effective default

	// For the lab (lkv lab up): a one-way delay and a rate limit in bytes/s
	// (zero: none) on each direction of connections to the client port.
	LinkDelay time.Duration
	LinkRate  int64
}

func defaultAgentConfig() *agentConfig {
	return &agentConfig{
		Bind:       "127.0.0.1",
		Port:       peer.DefaultPort,
		GossipPort: peer.DefaultGossipPort,
		HTTPPort:   peer.DefaultHTTPPort,
		Cluster:    defaultCluster,
		Role:       defaultRole,
		CacheBytes: defaultCacheBytes,
		LogLevel:   defaultLogLevel,
		Executors:  executorsAuto,
	}
}

// executorsAuto marks executors as not set: one per CPU.
const executorsAuto = -1 << 20

// syncMode returns the effective sync mode.
func (c *agentConfig) syncMode() string {
	switch {
	case c.Sync != "":
		return c.Sync
	case c.Dev:
		return "none"
	}
	return "always"
}

// validate reports the first option that is wrong and why, naming it as
// in the HCL file.
func (c *agentConfig) validate() error {
	var err error
	switch {
	case c.DataDir == "" && !c.Dev:
		return errors.New("data_dir is required (--data-dir, data_dir in the config file or LKV_DATA_DIR; or use --dev)")
	case strings.ContainsFunc(c.NodeID, isSpaceOrControl):
		return fmt.Errorf("node_id %q: no spaces or control characters allowed", c.NodeID)
	case c.Bind == "":
		return errors.New("bind: must not be empty (use 0.0.0.0 for every interface)")
	case !validPort(c.Port):
		return fmt.Errorf("port %d: want 0..65535 (0 picks a free port)", c.Port)
	case !validPort(c.GossipPort):
		return fmt.Errorf("gossip_port %d: want 0..65535", c.GossipPort)
	case c.HTTPPort > 65535:
		return fmt.Errorf("http_port %d: want 0..65535, or negative to disable HTTP", c.HTTPPort)
	case c.Role != "auto" && c.Role != "master" && c.Role != "replica" && c.Role != "compute":
		return fmt.Errorf("role %q: want auto, master, replica or compute", c.Role)
	case c.Replicas < 0:
		return fmt.Errorf("replicas %d: must not be negative", c.Replicas)
	case c.ProbeInterval < 0 || (c.ProbeInterval > 0 && c.ProbeInterval < 10*time.Millisecond):
		return fmt.Errorf("probe_interval %s: want at least 10ms", c.ProbeInterval)
	case c.SuspicionMult < 0:
		return fmt.Errorf("suspicion_mult %d: must not be negative", c.SuspicionMult)
	case c.ReplicaForget < 0:
		return fmt.Errorf("replica_forget %s: must not be negative", c.ReplicaForget)
	case c.ReplicaAckTimeout < 0:
		return fmt.Errorf("replica_ack_timeout %s: must not be negative", c.ReplicaAckTimeout)
	case c.Pipeline < 0:
		return fmt.Errorf("pipeline %d: must not be negative", c.Pipeline)
	case c.CacheBytes < 0:
		return fmt.Errorf("cache_bytes %d: must not be negative", c.CacheBytes)
	case c.MaxValueSize < 0:
		return fmt.Errorf("max_value_size %d: must not be negative", c.MaxValueSize)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return errors.New("tls_cert and tls_key must be set together")
	case c.JailDir != "" && !filepath.IsAbs(c.JailDir):
		return fmt.Errorf("jail_dir %q: must be an absolute path", c.JailDir)
	}
	if c.Sync != "" {
		if _, err = store.ParseSyncMode(c.Sync); err != nil {
			return fmt.Errorf("sync %q: want always or none", c.Sync)
		}
	}
	if hclog.LevelFromString(c.LogLevel) == hclog.NoLevel {
		return fmt.Errorf("log_level %q: want trace, debug, info, warn, error or off", c.LogLevel)
	}
	if err = validateCluster(c.Cluster); err != nil {
		return err
	}
	if err = validateEncrypt(c.Encrypt); err != nil {
		return err
	}
	for _, j := range c.Join {
		if _, err = joinAddr(j); err != nil {
			return err
		}
	}
	return nil
}

func validPort(p int) bool { return p >= 0 && p <= 65535 }

func isSpaceOrControl(r rune) bool { return r <= ' ' || r == 0x7f }

// validateCluster checks a cluster name; it becomes memberlist's Label,
// which is at most 255 bytes.
func validateCluster(name string) error {
	if name == "" || len(name) > 255 {
		return fmt.Errorf("cluster %q: want 1 to 255 characters", name)
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.') {
			return fmt.Errorf("cluster %q: only letters, digits, '-', '_' and '.' allowed", name)
		}
	}
	return nil
}

// validateEncrypt checks a gossip key: standard base64 of 16, 24 or 32
// bytes (AES-128, -192 or -256), as memberlist's keyring wants.
func validateEncrypt(key string) error {
	if key == "" {
		return nil
	}
	b, err := base64.StdEncoding.DecodeString(key)
	if err != nil {
		return errors.New("encrypt: not valid base64 (make one with: head -c 32 /dev/urandom | base64)")
	}
	if n := len(b); n != 16 && n != 24 && n != 32 {
		return fmt.Errorf("encrypt: key is %d bytes; want 16, 24 or 32", n)
	}
	return nil
}

// joinAddr normalizes a --join entry to host:port, adding the default
// gossip port when it has none.
func joinAddr(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", errors.New("join: empty address")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a host name, an IPv4 address or a bare IPv6 address.
		if strings.Count(s, ":") == 1 || strings.ContainsAny(s, "[]") {
			return "", fmt.Errorf("join %q: want HOST or HOST:PORT", s)
		}
		return net.JoinHostPort(s, strconv.Itoa(peer.DefaultGossipPort)), nil
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || host == "" {
		return "", fmt.Errorf("join %q: want HOST or HOST:PORT with a port in 1..65535", s)
	}
	return s, nil
}

// peerConfig translates c into the node's configuration. notes lists the
// options that were accepted but that this build of the node cannot use
// yet, for the agent to warn about.
func (c *agentConfig) peerConfig(logger hclog.Logger) (pc *peer.Config, notes []string, err error) {
	pc = peer.DefaultConfig()
	pc.NodeID = c.NodeID
	pc.DataDir = c.DataDir
	pc.BindAddr = c.Bind
	pc.AdvertiseAddr = c.Advertise
	pc.Port = c.Port
	pc.HTTPPort = c.HTTPPort
	pc.Token = c.Token
	pc.TLSCertFile = c.TLSCert
	pc.TLSCAFile = c.TLSCA
	pc.TLSKeyFile = c.TLSKey
	pc.MaxValueSize = c.MaxValueSize
	switch {
	case c.Executors == executorsAuto:
		pc.Executors = 0 // the node's default: one per CPU
	case c.Executors <= 0:
		pc.Executors = -1 // stores only
	default:
		pc.Executors = c.Executors
	}
	pc.Pipeline = c.Pipeline
	pc.LinkDelay = c.LinkDelay
	pc.LinkRate = c.LinkRate
	pc.Version = version
	pc.Logger = logger

	so := store.DefaultOptions()
	if so.Sync, err = store.ParseSyncMode(c.syncMode()); err != nil {
		return nil, nil, err
	}
	pc.Store = so

	jc := jail.DefaultConfig()
	jc.Defaults = c.Limits  // zero fields mean the built-in defaults
	jc.Max = c.MaxLimits    // zero fields mean the effective default
	jc.StateDir = c.JailDir // blank: the node picks one in its data directory
	pc.Jail = jc

	return pc, c.clusterNotes(pc), nil
}

// clusterNotes passes the cluster options on to pc and lists those this
// build accepts without effect (none at present).
func (c *agentConfig) clusterNotes(pc *peer.Config) []string {
	pc.Cluster = c.Cluster
	pc.GossipPort = c.GossipPort
	pc.Join = c.Join
	pc.EncryptKey = c.Encrypt
	pc.Role = c.Role
	pc.CacheBytes = c.CacheBytes
	if c.CacheBytes == 0 {
		pc.CacheBytes = -1 // cache_bytes = 0 turns the cache off
	}
	pc.Replicas = c.Replicas
	if c.ProbeInterval > 0 || c.SuspicionMult > 0 {
		mc := membership.DefaultConfig()
		mc.RejoinInterval = 3 * time.Second // as the node's default
		if c.ProbeInterval > 0 {
			mc.Profile.ProbeInterval = c.ProbeInterval
			mc.Profile.ProbeTimeout = c.ProbeInterval / 2
		}
		if c.SuspicionMult > 0 {
			mc.Profile.SuspicionMult = c.SuspicionMult
		}
		pc.Membership = mc
	}
	pc.IsolationTimeout = c.IsolationTimeout
	pc.ReplicaForget = c.ReplicaForget
	pc.ReplicaAckTimeout = c.ReplicaAckTimeout
	return nil
}

// newLogger builds the root logger from the log options.
func (c *agentConfig) newLogger(out io.Writer) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:       "lkv",
		Level:      hclog.LevelFromString(c.LogLevel),
		JSONFormat: c.LogJSON,
		Output:     out,
	})
}
