package peer_test

import (
	"context"
	"encoding/binary"
	"io"
	"net"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/membership"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/store"
)

// testLogger routes a node's logs to t.Log.
func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   t.Name(),
		Output: testWriter{t},
		Level:  hclog.Info,
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// testConfig returns a config for a node on loopback with free ports.
func testConfig(t testing.TB) *peer.Config {
	cfg := peer.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.NodeID = "node-0"
	cfg.Port = 0
	cfg.HTTPPort = 0
	cfg.GossipPort = 0
	cfg.Membership = membership.DefaultTestConfig()
	cfg.Logger = testLogger(t)
	cfg.Store = store.DefaultOptions()
	cfg.Store.Sync = store.SyncNone
	cfg.Executors = -1
	return cfg
}

// startPeer starts a node with cfg and shuts it down when the test ends.
func startPeer(t testing.TB, cfg *peer.Config) *peer.Peer {
	t.Helper()
	p, err := peer.New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("Shutdown: %v", err)
		}
	})
	return p
}

func dial(t testing.TB, p *peer.Peer, mod ...func(*client.Config)) *client.Client {
	t.Helper()
	cfg := client.Config{Seeds: []string{p.Addr()}}
	for _, m := range mod {
		m(&cfg)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// rawConn is a protocol-level connection for feeding a node bad input.
type rawConn struct {
	t  testing.TB
	nc net.Conn
}

func dialRaw(t testing.TB, addr string) *rawConn {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawConn{t: t, nc: nc}
}

func (c *rawConn) write(b []byte) {
	c.t.Helper()
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

func (c *rawConn) send(req *wire.Request) {
	c.t.Helper()
	b, err := wire.NewEncoder().AppendRequest(nil, req)
	if err != nil {
		c.t.Fatalf("encode: %v", err)
	}
	c.write(b)
}

// read returns the next response, or nil if the node closed the
// connection.
func (c *rawConn) read() *wire.Response {
	c.t.Helper()
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var hdr [4]byte
	if _, err := io.ReadFull(c.nc, hdr[:]); err != nil {
		if isTimeout(err) {
			c.t.Fatalf("no response within 10s")
		}
		return nil
	}
	buf := make([]byte, binary.BigEndian.Uint32(hdr[:]))
	if _, err := io.ReadFull(c.nc, buf); err != nil {
		c.t.Fatalf("read payload: %v", err)
	}
	var resp wire.Response
	if err := wire.NewDecoder().Response(buf, &resp); err != nil {
		c.t.Fatalf("decode response: %v", err)
	}
	return &resp
}

// closed reports whether the node closed the connection.
func (c *rawConn) closed() bool {
	_ = c.nc.SetReadDeadline(time.Now().Add(10 * time.Second))
	var b [1]byte
	_, err := c.nc.Read(b[:])
	if isTimeout(err) {
		c.t.Fatalf("connection still open after 10s")
	}
	return err != nil
}

func isTimeout(err error) bool {
	ne, ok := err.(net.Error)
	return ok && ne.Timeout()
}

// checkNoLeaks fails the test if goroutines started during it are still
// running once it ends. Call it first, before anything registers cleanups.
func checkNoLeaks(t *testing.T) {
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(5 * time.Second)
		for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		if n := runtime.NumGoroutine(); n > before {
			buf := make([]byte, 1<<20)
			t.Errorf("%d goroutines leaked:\n%s", n-before, buf[:runtime.Stack(buf, true)])
		}
	})
}
