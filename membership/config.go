package membership

import (
	"encoding/base64"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/memberlist"
)

// DefaultPort is the gossip port (UDP and TCP) used when a Config or a seed
// names none.
const DefaultPort = 7371

// MaxNodeIDLen is the longest node id accepted, in bytes.
const MaxNodeIDLen = 128

// Config configures a Membership. Use DefaultConfig (or DefaultTestConfig)
// and change what you need; a zero Config with a NodeID is also valid, its
// zero fields meaning the documented defaults (BindPort 0 then picks a free
// port). New copies it; later changes have no effect. Validate and New do
// not modify it.
type Config struct {
	// NodeID names this node in the cluster; it must be unique and should
	// be stable across restarts. Required; at most MaxNodeIDLen bytes.
	NodeID string

	// BindAddr is the IP address the gossip listeners (UDP and TCP) bind
	// to. If blank, "0.0.0.0".
	BindAddr string
	// BindPort is the gossip port. Zero picks a free port; LocalAddr
	// reports the one bound.
	BindPort int

	// AdvertiseAddr is the IP address other nodes use to reach this one.
	// If blank, the bound address, or a private address of this host when
	// bound to 0.0.0.0.
	AdvertiseAddr string
	// AdvertisePort is the port other nodes use. Zero means the bound port.
	AdvertisePort int

	// Cluster is the cluster name, sent with every packet as memberlist's
	// label: nodes with different names ignore each other and never merge.
	// Blank sends no label (and then matches only other unlabelled nodes).
	// At most 255 bytes.
	Cluster string

	// EncryptKey, if not empty, encrypts and authenticates all gossip
	// with AES (memberlist's keyring): 16, 24 or 32 bytes. ParseKey
	// decodes the base64 form used on command lines. Nodes without the
	// key cannot join or read gossip.
	EncryptKey []byte

	// Seeds are the addresses, host[:port] (port DefaultPort if absent),
	// of nodes to join at Start and to re-join periodically. Empty means
	// this node starts as a cluster of one and waits to be joined.
	Seeds []string

	// RejoinInterval is the period of the rejoin loop, which joins the
	// seeds and the recently dead members again: memberlist never
	// contacts a member it declared dead, so without it a healed
	// partition would stay split. Zero means 15 s; negative disables it.
	RejoinInterval time.Duration

	// Meta is this node's initial metadata (see UpdateMeta).
	Meta Meta

	// Profile holds the gossip and failure-detection timers. The zero
	// value means LANProfile().
	Profile Profile

	// State, if not nil, is the replicated state carried by push/pull and
	// Broadcast. See State.
	State State

	// OnMessage, if not nil, is called for each message another node sent
	// with SendTo. It runs on memberlist's network goroutines and must
	// not block; msg is the caller's to keep. It may be called
	// concurrently.
	OnMessage func(from string, msg []byte)

	// EventBuffer is the capacity of the Events channel. Zero means 64.
	EventBuffer int

	// GoneLimit bounds how many dead or left members are remembered (for
	// Members and the rejoin loop); the oldest are forgotten first. Zero
	// means 64.
	GoneLimit int
	// GoneRetention is how long a dead or left member is remembered. Zero
	// means one hour.
	GoneRetention time.Duration

	// Logger receives this package's logs, and memberlist's own at debug
	// level. If nil, hclog.New with the name "membership".
	Logger hclog.Logger

	// DropTo, if not nil, is consulted before every packet sent and every
	// TCP connection dialled: when it returns true for the destination
	// gossip address (ip:port), the packet is dropped or the dial fails,
	// as if the network lost it. It injects partitions in tests (install
	// one on each side for a symmetric cut); leave it nil in production.
	// It must be safe for concurrent use and fast.
	DropTo func(addr string) bool
}

// DefaultConfig returns a fresh Config with the defaults filled in. NodeID
// must still be set.
func DefaultConfig() *Config {
	return &Config{
		BindAddr:       "0.0.0.0",
		BindPort:       DefaultPort,
		RejoinInterval: 15 * time.Second,
		Profile:        LANProfile(),
		EventBuffer:    64,
		GoneLimit:      64,
		GoneRetention:  time.Hour,
	}
}

// DefaultTestConfig returns a Config for in-process clusters in tests:
// loopback, a free port, TestProfile timers and a 250 ms rejoin loop.
// NodeID must still be set.
func DefaultTestConfig() *Config {
	c := DefaultConfig()
	c.BindAddr = "127.0.0.1"
	c.BindPort = 0
	c.RejoinInterval = 250 * time.Millisecond
	c.Profile = TestProfile()
	return c
}

// ParseKey decodes a gossip encryption key given in standard base64 (as
// `lkv agent --encrypt` takes it) and checks its length.
func ParseKey(s string) ([]byte, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, fmt.Errorf("parse encryption key: %w", err)
	}
	if err := memberlist.ValidateKey(key); err != nil {
		return nil, fmt.Errorf("parse encryption key: %w", err)
	}
	return key, nil
}

// Validate checks the whole Config and names the first field at fault. It
// treats zero values as their documented defaults.
func (c *Config) Validate() error {
	_, err := c.normalized()
	return err
}

// normalized returns a copy with defaults applied and seeds in host:port
// form, or the first error.
func (c *Config) normalized() (*Config, error) {
	n := *c
	n.Seeds = nil
	n.EncryptKey = append([]byte(nil), c.EncryptKey...)
	n.Meta = c.Meta.clone()
	fail := func(format string, args ...any) (*Config, error) {
		return nil, fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
	}
	if n.NodeID == "" {
		return fail("NodeID is required")
	}
	if len(n.NodeID) > MaxNodeIDLen {
		return fail("NodeID is %d bytes, limit %d", len(n.NodeID), MaxNodeIDLen)
	}
	if n.BindAddr == "" {
		n.BindAddr = "0.0.0.0"
	}
	if net.ParseIP(n.BindAddr) == nil {
		return fail("BindAddr %q is not an IP address", n.BindAddr)
	}
	if n.AdvertiseAddr != "" && net.ParseIP(n.AdvertiseAddr) == nil {
		return fail("AdvertiseAddr %q is not an IP address", n.AdvertiseAddr)
	}
	if n.BindPort < 0 || n.BindPort > 65535 {
		return fail("BindPort %d is out of range", n.BindPort)
	}
	if n.AdvertisePort < 0 || n.AdvertisePort > 65535 {
		return fail("AdvertisePort %d is out of range", n.AdvertisePort)
	}
	if len(n.Cluster) > memberlist.LabelMaxSize {
		return fail("Cluster is %d bytes, limit %d", len(n.Cluster), memberlist.LabelMaxSize)
	}
	if len(n.EncryptKey) > 0 {
		if err := memberlist.ValidateKey(n.EncryptKey); err != nil {
			return fail("EncryptKey: %v", err)
		}
	}
	for _, s := range c.Seeds {
		seed, err := normalizeSeed(s)
		if err != nil {
			return fail("Seeds: %v", err)
		}
		n.Seeds = append(n.Seeds, seed)
	}
	if n.RejoinInterval == 0 {
		n.RejoinInterval = 15 * time.Second
	}
	if _, err := encodeMeta(n.Meta, 0); err != nil {
		return fail("Meta: %v", err)
	}
	if n.Profile == (Profile{}) {
		n.Profile = LANProfile()
	}
	if err := n.Profile.validate(); err != nil {
		return fail("%v", err)
	}
	if n.EventBuffer < 0 || n.GoneLimit < 0 || n.GoneRetention < 0 {
		return fail("EventBuffer, GoneLimit and GoneRetention must not be negative")
	}
	if n.EventBuffer == 0 {
		n.EventBuffer = 64
	}
	if n.GoneLimit == 0 {
		n.GoneLimit = 64
	}
	if n.GoneRetention == 0 {
		n.GoneRetention = time.Hour
	}
	return &n, nil
}

// normalizeSeed returns host:port, adding DefaultPort when s has no port.
// It accepts "host", "host:port", "1.2.3.4", "[::1]:7371", "[::1]" and "::1".
func normalizeSeed(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", fmt.Errorf("empty seed")
	}
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		// No port: a bare host, a bracketed or a bare IPv6 address.
		host = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
		if strings.ContainsAny(host, "[]") || (strings.Contains(host, ":") && net.ParseIP(host) == nil) {
			return "", fmt.Errorf("seed %q: not host[:port]", s)
		}
		port = strconv.Itoa(DefaultPort)
	}
	if host == "" {
		return "", fmt.Errorf("seed %q: empty host", s)
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		return "", fmt.Errorf("seed %q: bad port %q", s, port)
	}
	return net.JoinHostPort(host, port), nil
}
