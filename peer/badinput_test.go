package peer_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/peer/wire"
)

// sentinel stores a key before the abuse and checks after it that the node
// still serves a well-behaved client and the key is unchanged.
func sentinel(t *testing.T, p *peer.Peer) func() {
	t.Helper()
	c := dial(t, p)
	ctx := ctxT(t)
	if err := c.Put(ctx, "sentinel", []byte("unchanged")); err != nil {
		t.Fatal(err)
	}
	return func() {
		t.Helper()
		c2 := dial(t, p)
		v, err := c2.Get(ctx, "sentinel")
		if err != nil || string(v) != "unchanged" {
			t.Errorf("after the abuse: sentinel = %q, %v; want unchanged", v, err)
		}
		st, err := c2.Stat(ctx, "sentinel", "victim")
		if err != nil || st[1].Found {
			t.Errorf("after the abuse: stat = %+v, %v; want no key 'victim'", st, err)
		}
	}
}

func frameOf(payload []byte) []byte {
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(payload))), payload...)
}

func TestPeer_badInput_closesConnection(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxValueSize = 1 << 10
	p := startPeer(t, cfg)
	check := sentinel(t, p)
	tests := []struct {
		name   string
		bytes  []byte
		status wire.Status // expected answer before the close; 255: none
	}{
		{"garbage", []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"), wire.StatusTooLarge},
		{"length 4 GiB", []byte{0xff, 0xff, 0xff, 0xff, 1, 2, 3}, wire.StatusTooLarge},
		{"over max frame", binary.BigEndian.AppendUint32(nil, 1<<10+1<<20+1), wire.StatusTooLarge},
		{"zero length", []byte{0, 0, 0, 0}, wire.StatusBadRequest},
		{"not msgpack", frameOf([]byte{0xc1, 0xc1, 0xc1}), wire.StatusBadRequest},
		{"array not map", frameOf([]byte{0x92, 0x01, 0x03}), wire.StatusBadRequest},
		{"key is an int", frameOf([]byte{0x83, 0xa2, 'i', 'd', 0x01, 0xa2, 'o', 'p', 0x04, 0xa3, 'k', 'e', 'y', 0x07}), wire.StatusBadRequest},
		{"truncated map", frameOf([]byte{0x83, 0xa2, 'i', 'd', 0x01}), wire.StatusBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := dialRaw(t, p.Addr())
			rc.write(tt.bytes)
			resp := rc.read()
			if resp == nil {
				t.Fatalf("connection closed without an answer; want %s", tt.status)
			}
			if resp.Status != tt.status {
				t.Errorf("status = %s (%s); want %s", resp.Status, resp.Error, tt.status)
			}
			if !rc.closed() {
				t.Errorf("connection still open")
			}
		})
	}
	t.Run("truncated frame then close", func(t *testing.T) {
		rc := dialRaw(t, p.Addr())
		rc.write(binary.BigEndian.AppendUint32(nil, 100))
		rc.write(make([]byte, 10))
		rc.nc.Close()
	})
	check()
}

func TestPeer_badInput_answered(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxValueSize = 1 << 10
	p := startPeer(t, cfg)
	check := sentinel(t, p)
	tests := []struct {
		name   string
		req    wire.Request
		status wire.Status
	}{
		{"unknown op", wire.Request{Op: 200}, wire.StatusBadRequest},
		{"empty key", wire.Request{Op: wire.OpGet}, wire.StatusBadRequest},
		{"key over 16 KiB", wire.Request{Op: wire.OpGet, Key: strings.Repeat("k", 16<<10+1)}, wire.StatusBadRequest},
		{"key with NUL", wire.Request{Op: wire.OpPut, Key: "vic\x00tim", Value: []byte("x"), Perm: 3}, wire.StatusBadRequest},
		{"value over the limit", wire.Request{Op: wire.OpPut, Key: "victim", Value: make([]byte, 1<<10+1), Perm: 3}, wire.StatusTooLarge},
		{"perm lacks R", wire.Request{Op: wire.OpPut, Key: "victim", Value: []byte("x"), Perm: 2}, wire.StatusBadRequest},
		{"perm with unknown bits", wire.Request{Op: wire.OpPut, Key: "victim", Value: []byte("x"), Perm: 9}, wire.StatusBadRequest},
		{"put of nothing", wire.Request{Op: wire.OpPut, Value: []byte("x"), Perm: 3}, wire.StatusBadRequest},
		{"protocol 2", wire.Request{Op: wire.OpHello, Proto: 2}, wire.StatusBadRequest},
	}
	rc := dialRaw(t, p.Addr())
	for i, tt := range tests {
		req := tt.req
		req.ID = uint64(100 + i)
		rc.send(&req)
		resp := rc.read()
		if resp == nil {
			t.Fatalf("%s: connection closed; want it open", tt.name)
		}
		if resp.ID != req.ID || resp.Status != tt.status {
			t.Errorf("%s: got id %d status %s (%s); want id %d status %s", tt.name, resp.ID, resp.Status, resp.Error, req.ID, tt.status)
		}
	}
	// The same connection still works.
	rc.send(&wire.Request{ID: 7, Op: wire.OpGet, Key: "sentinel"})
	if resp := rc.read(); resp == nil || resp.ID != 7 || string(resp.Value) != "unchanged" {
		t.Errorf("get on the abused connection = %+v; want the sentinel", resp)
	}
	check()
}

func TestPeer_idleConnections(t *testing.T) {
	if testing.Short() {
		t.Skip("opens 1000 connections")
	}
	p := startPeer(t, testConfig(t))
	check := sentinel(t, p)
	for range 1000 {
		dialRaw(t, p.Addr())
	}
	check()
}

// A client that sends requests and never reads: the node stops reading
// from it when its caps are reached, keeps serving others, and the
// client's connection does not hold unbounded memory.
func TestPeer_clientNeverReads(t *testing.T) {
	cfg := testConfig(t)
	cfg.MaxInflight = 64
	cfg.MaxConnBytes = 1 << 20
	p := startPeer(t, cfg)
	check := sentinel(t, p)
	c := dial(t, p)
	big := bytes.Repeat([]byte("x"), 64<<10)
	if err := c.Put(ctxT(t), "big", big); err != nil {
		t.Fatal(err)
	}
	rc := dialRaw(t, p.Addr())
	frame, _ := wire.NewEncoder().AppendRequest(nil, &wire.Request{ID: 1, Op: wire.OpGet, Key: "big"})
	// Write until the node stops reading and the socket buffers fill.
	_ = rc.nc.SetWriteDeadline(time.Now().Add(3 * time.Second))
	sent := 0
	for sent < 1<<20 {
		if _, err := rc.nc.Write(frame); err != nil {
			break
		}
		sent++
	}
	if sent >= 1<<20 {
		t.Fatalf("node accepted %d requests from a client that never reads", sent)
	}
	check()
}

func TestPeer_token(t *testing.T) {
	cfg := testConfig(t)
	cfg.Token = "s3cret"
	p := startPeer(t, cfg)
	ctx := ctxT(t)

	c := dial(t, p, func(c *client.Config) { c.Token = "s3cret" })
	if err := c.Put(ctx, "sentinel", []byte("unchanged")); err != nil {
		t.Fatalf("Put with token: %v", err)
	}
	if _, err := client.Dial(ctx, client.Config{Seeds: []string{p.Addr()}, Token: "wrong"}); !errors.Is(err, client.ErrUnauthorized) {
		t.Errorf("Dial with a wrong token: %v; want ErrUnauthorized", err)
	}
	rc := dialRaw(t, p.Addr())
	rc.send(&wire.Request{ID: 1, Op: wire.OpPut, Key: "victim", Value: []byte("x"), Perm: 3})
	if resp := rc.read(); resp == nil || resp.Status != wire.StatusUnauthorized {
		t.Errorf("put before hello = %+v; want UNAUTHORIZED", resp)
	}
	if !rc.closed() {
		t.Errorf("connection open after UNAUTHORIZED")
	}
	if st, err := c.Stat(ctx, "victim"); err != nil || st[0].Found {
		t.Errorf("victim stored by an unauthorized put: %+v, %v", st, err)
	}
}

func TestPeer_Shutdown_inFlight(t *testing.T) {
	checkNoLeaks(t)
	cfg := testConfig(t)
	p, err := peer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	ctx := ctxT(t)
	var futs []*client.Future[uint64]
	for i := range 500 {
		futs = append(futs, c.PutAsync(ctx, "k"+string(rune('a'+i%26)), []byte("v")))
	}
	for range 50 {
		dialRaw(t, p.Addr()) // idle connections must not hold Shutdown up
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	start := time.Now()
	if err := p.Shutdown(sctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("Shutdown took %v", d)
	}
	for _, f := range futs {
		_, _ = f.Wait() // each completes: answered or failed, never hangs
	}
	if err := p.Shutdown(sctx); err != nil {
		t.Errorf("second Shutdown: %v", err)
	}
	c.Close()
}
