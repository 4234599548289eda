package membership

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"strings"
	"time"

	"github.com/hashicorp/memberlist"
)

// errDropped is the dial error of a destination that Config.DropTo cuts.
var errDropped = errors.New("dropped by DropTo")

// transport is memberlist's NetTransport with two changes: dials are
// cancelled by Shutdown (memberlist's own cannot be, so a join to an
// unreachable host would hold Shutdown for TCPTimeout), and Config.DropTo
// can cut destinations.
type transport struct {
	*memberlist.NetTransport
	dropTo func(addr string) bool // nil: drop nothing
	ctx    context.Context        // cancelled at Shutdown
}

var _ memberlist.NodeAwareTransport = (*transport)(nil)

// newTransport binds UDP and TCP on the configured address. With port 0 it
// retries a few times, because the kernel picks a free TCP port that may be
// taken for UDP (as memberlist does).
func newTransport(ctx context.Context, c *Config, logger *log.Logger) (*transport, error) {
	nc := &memberlist.NetTransportConfig{
		BindAddrs: []string{c.BindAddr},
		BindPort:  c.BindPort,
		Logger:    logger,
	}
	tries := 1
	if c.BindPort == 0 {
		tries = 10
	}
	var err error
	for range tries {
		var nt *memberlist.NetTransport
		if nt, err = memberlist.NewNetTransport(nc); err == nil {
			return &transport{NetTransport: nt, dropTo: c.DropTo, ctx: ctx}, nil
		}
		if !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	return nil, fmt.Errorf("bind gossip %s:%d: %w", c.BindAddr, c.BindPort, err)
}

func (t *transport) dropped(addr string) bool {
	return t.dropTo != nil && t.dropTo(addr)
}

// WriteTo implements memberlist.Transport.
func (t *transport) WriteTo(b []byte, addr string) (time.Time, error) {
	return t.WriteToAddress(b, memberlist.Address{Addr: addr})
}

// WriteToAddress implements memberlist.NodeAwareTransport. A dropped packet
// is reported as sent, as the network would.
func (t *transport) WriteToAddress(b []byte, a memberlist.Address) (time.Time, error) {
	if t.dropped(a.Addr) {
		return time.Now(), nil
	}
	return t.NetTransport.WriteToAddress(b, a)
}

// DialTimeout implements memberlist.Transport.
func (t *transport) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	return t.DialAddressTimeout(memberlist.Address{Addr: addr}, timeout)
}

// DialAddressTimeout implements memberlist.NodeAwareTransport.
func (t *transport) DialAddressTimeout(a memberlist.Address, timeout time.Duration) (net.Conn, error) {
	if t.dropped(a.Addr) {
		return nil, fmt.Errorf("dial %s: %w", a.Addr, errDropped)
	}
	d := net.Dialer{Timeout: timeout}
	return d.DialContext(t.ctx, "tcp", a.Addr)
}
