package peer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/slots"
)

func TestPeer_KV_roundTrip(t *testing.T) {
	p := startPeer(t, testConfig(t))
	c := dial(t, p)
	ctx := ctxT(t)

	binary := make([]byte, 256)
	for i := range binary {
		binary[i] = byte(i)
	}
	if err := c.Put(ctx, "k\x01bin", binary); err != nil {
		t.Fatalf("Put: %v", err)
	}
	it, err := c.GetItem(ctx, "k\x01bin")
	if err != nil {
		t.Fatalf("GetItem: %v", err)
	}
	if !bytes.Equal(it.Value, binary) || it.Perm != client.PermRW {
		t.Errorf("GetItem = %x, %v; want %x, rw-", it.Value, it.Perm, binary)
	}
	if err := c.Put(ctx, "empty", nil); err != nil {
		t.Fatalf("Put empty: %v", err)
	}
	if v, err := c.Get(ctx, "empty"); err != nil || v == nil || len(v) != 0 {
		t.Errorf("Get empty = %q (nil=%v), %v; want empty, present", v, v == nil, err)
	}
	if _, err := c.Get(ctx, "missing"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Get missing: err = %v; want ErrNotFound", err)
	}
	if err := c.Delete(ctx, "k\x01bin", false); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := c.Get(ctx, "k\x01bin"); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Get after delete: err = %v; want ErrNotFound", err)
	}
	if err := c.Delete(ctx, "k\x01bin", false); !errors.Is(err, client.ErrNotFound) {
		t.Errorf("Delete missing: err = %v; want ErrNotFound", err)
	}
}

func TestPeer_Put_permissions(t *testing.T) {
	p := startPeer(t, testConfig(t))
	c := dial(t, p)
	ctx := ctxT(t)

	if err := c.Put(ctx, "imm", []byte("v1"), client.WithPerm(client.PermR)); err != nil {
		t.Fatalf("Put immutable: %v", err)
	}
	if err := c.Put(ctx, "imm", []byte("v1"), client.WithPerm(client.PermR)); err != nil {
		t.Errorf("repeat of identical immutable put: %v; want success", err)
	}
	if err := c.Put(ctx, "imm", []byte("v2"), client.WithPerm(client.PermR)); !errors.Is(err, client.ErrReadOnly) {
		t.Errorf("overwrite of immutable: %v; want ErrReadOnly", err)
	}
	if err := c.Put(ctx, "imm", []byte("v1"), client.WithPerm(client.PermRX)); !errors.Is(err, client.ErrReadOnly) {
		t.Errorf("same value, other perm: %v; want ErrReadOnly", err)
	}
	if err := c.Delete(ctx, "imm", false); !errors.Is(err, client.ErrReadOnly) {
		t.Errorf("delete immutable without force: %v; want ErrReadOnly", err)
	}
	if v, _ := c.Get(ctx, "imm"); string(v) != "v1" {
		t.Errorf("value after refused writes = %q; want v1", v)
	}
	if err := c.Delete(ctx, "imm", true); err != nil {
		t.Errorf("forced delete: %v", err)
	}
	if err := c.Put(ctx, "nor", []byte("x"), client.WithPerm(client.PermW)); !errors.Is(err, client.ErrBadRequest) {
		t.Errorf("put without R: %v; want ErrBadRequest", err)
	}
	if err := c.Put(ctx, "rep", []byte("x"), client.WithMinReplicas(1)); !errors.Is(err, client.ErrUnavailable) {
		t.Errorf("put with min_replicas 1 on a lone node: %v; want ErrUnavailable", err)
	}
}

func TestPeer_Stat(t *testing.T) {
	p := startPeer(t, testConfig(t))
	c := dial(t, p)
	ctx := ctxT(t)
	if err := c.Put(ctx, "{a}one", []byte("12345"), client.WithPerm(client.PermRX)); err != nil {
		t.Fatal(err)
	}
	got, err := c.Stat(ctx, "{a}one", "{a}none")
	if err != nil {
		t.Fatalf("Stat: %v", err)
	}
	slot := int(slots.KeySlot("a"))
	if e := got[0]; !e.Found || e.Size != 5 || e.Perm != uint8(client.PermRX) || e.Slot != slot || e.Owner != "node-0" || e.Addr != p.Addr() {
		t.Errorf("Stat[0] = %+v; want found, size 5, perm r-x, slot %d, owner node-0 at %s", e, slot, p.Addr())
	}
	if e := got[1]; e.Found || e.Key != "{a}none" || e.Slot != slot {
		t.Errorf("Stat[1] = %+v; want not found on slot %d", e, slot)
	}
}

func TestPeer_Topology_singleNodeOwnsAll(t *testing.T) {
	p := startPeer(t, testConfig(t))
	c := dial(t, p)
	top := c.Topology()
	if len(top.Nodes) != 1 || top.Nodes[0].ID != "node-0" || top.Nodes[0].Addr != p.Addr() || !top.Nodes[0].Coordinator {
		t.Fatalf("nodes = %+v; want node-0 at %s, coordinator", top.Nodes, p.Addr())
	}
	if len(top.Slots) != 1 || top.Slots[0].Start != 0 || top.Slots[0].End != slots.NumSlots-1 || top.Slots[0].Master != "node-0" {
		t.Errorf("slots = %+v; want 0-16383 on node-0", top.Slots)
	}
}

// Many requests in flight on one connection from many goroutines, each
// answered with its own value.
func TestPeer_pipelined(t *testing.T) {
	p := startPeer(t, testConfig(t))
	c := dial(t, p)
	ctx := ctxT(t)
	const n = 2000
	puts := make([]*client.Future[uint64], n)
	for i := range n {
		puts[i] = c.PutAsync(ctx, fmt.Sprintf("k%d", i), []byte(fmt.Sprintf("v%d", i)))
	}
	seen := make(map[uint64]bool)
	for i, f := range puts {
		off, err := f.Wait()
		if err != nil {
			t.Fatalf("put %d: %v", i, err)
		}
		if seen[off] {
			t.Fatalf("offset %d given twice", off)
		}
		seen[off] = true
	}
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			gets := make([]*client.Future[[]byte], 0, n/8)
			for i := g; i < n; i += 8 {
				gets = append(gets, c.GetAsync(ctx, fmt.Sprintf("k%d", i)))
			}
			for j, f := range gets {
				i := g + 8*j
				v, err := f.Wait()
				if err != nil || string(v) != fmt.Sprintf("v%d", i) {
					errs <- fmt.Errorf("get k%d = %q, %v", i, v, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestPeer_largeValue(t *testing.T) {
	if testing.Short() {
		t.Skip("100 MiB round trip")
	}
	p := startPeer(t, testConfig(t))
	c := dial(t, p)
	ctx := ctxT(t)
	big := make([]byte, 100<<20)
	for i := range big {
		big[i] = byte(i * 7)
	}
	if err := c.Put(ctx, "big", big); err != nil {
		t.Fatalf("Put 100 MiB: %v", err)
	}
	got, err := c.Get(ctx, "big")
	if err != nil {
		t.Fatalf("Get 100 MiB: %v", err)
	}
	if !bytes.Equal(got, big) {
		t.Errorf("100 MiB value came back different (len %d)", len(got))
	}
}

func TestPeer_reconnectAfterRestart(t *testing.T) {
	cfg := testConfig(t)
	p, err := newStarted(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c := dial(t, p)
	ctx := ctxT(t)
	if err := c.Put(ctx, "k", []byte("before")); err != nil {
		t.Fatal(err)
	}
	addr := p.Addr()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	cfg2 := *cfg
	_, port, _ := net.SplitHostPort(addr)
	cfg2.Port, _ = strconv.Atoi(port)
	p2 := startPeer(t, &cfg2)
	if p2.Addr() != addr {
		t.Fatalf("restarted at %s; want %s", p2.Addr(), addr)
	}
	v, err := c.Get(ctx, "k")
	if err != nil || string(v) != "before" {
		t.Fatalf("Get after restart = %q, %v; want before", v, err)
	}
}

func newStarted(cfg *peer.Config) (*peer.Peer, error) {
	p, err := peer.New(cfg)
	if err != nil {
		return nil, err
	}
	return p, p.Start(context.Background())
}
