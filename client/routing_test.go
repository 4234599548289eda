package client

import (
	"bufio"
	"context"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// fakeNode answers requests with a handler, speaking the real protocol.
type fakeNode struct {
	t       testing.TB
	ln      net.Listener
	handle  func(req *wire.Request) *wire.Response
	mu      sync.Mutex
	conns   []net.Conn
	wg      sync.WaitGroup
	handled atomic.Int64
}

func newFakeNode(t testing.TB, handle func(req *wire.Request) *wire.Response) *fakeNode {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	n := &fakeNode{t: t, ln: ln, handle: handle}
	n.wg.Add(1)
	go n.accept()
	t.Cleanup(n.stop)
	return n
}

func (n *fakeNode) addr() string { return n.ln.Addr().String() }

func (n *fakeNode) accept() {
	defer n.wg.Done()
	for {
		c, err := n.ln.Accept()
		if err != nil {
			return
		}
		n.mu.Lock()
		n.conns = append(n.conns, c)
		n.mu.Unlock()
		n.wg.Add(1)
		go n.serve(c)
	}
}

func (n *fakeNode) serve(c net.Conn) {
	defer n.wg.Done()
	fr := wire.NewFrameReader(c, 64<<10, wire.DefaultMaxFrame)
	bw := bufio.NewWriter(c)
	dec, enc := wire.NewDecoder(), wire.NewEncoder()
	for {
		payload, _, err := fr.Next()
		if err != nil {
			return
		}
		var req wire.Request
		if err := dec.Request(payload, &req); err != nil {
			return
		}
		var resp *wire.Response
		if req.Op == wire.OpHello {
			resp = &wire.Response{Proto: wire.ProtocolVersion}
		} else {
			n.handled.Add(1)
			resp = n.handle(&req)
		}
		resp.ID = req.ID
		if enc.WriteResponse(bw, resp) != nil || bw.Flush() != nil {
			return
		}
	}
}

func (n *fakeNode) stop() {
	n.ln.Close()
	n.mu.Lock()
	for _, c := range n.conns {
		c.Close()
	}
	n.mu.Unlock()
	n.wg.Wait()
}

func topologyOf(owner map[string]string, ranges ...wire.SlotRange) *wire.Topology {
	top := &wire.Topology{Epoch: 1, Slots: ranges}
	for id, addr := range owner {
		top.Nodes = append(top.Nodes, wire.NodeInfo{ID: id, Addr: addr, Role: "master", State: "alive"})
	}
	return top
}

// A node that no longer owns a slot answers MOVED; the client refreshes the
// topology, goes to the new owner, and routes there directly afterwards.
func TestClient_followsMoved(t *testing.T) {
	var moved atomic.Bool
	var a, b *fakeNode
	b = newFakeNode(t, func(req *wire.Request) *wire.Response {
		return &wire.Response{Value: []byte("from b")}
	})
	a = newFakeNode(t, func(req *wire.Request) *wire.Response {
		if req.Op == wire.OpTopology {
			if moved.Load() {
				return &wire.Response{Topology: topologyOf(map[string]string{"a": a.addr(), "b": b.addr()},
					wire.SlotRange{Start: 0, End: slots.NumSlots - 1, Master: "b", Epoch: 2})}
			}
			return &wire.Response{Topology: topologyOf(map[string]string{"a": a.addr()},
				wire.SlotRange{Start: 0, End: slots.NumSlots - 1, Master: "a", Epoch: 1})}
		}
		moved.Store(true)
		return &wire.Response{Status: wire.StatusMoved, Addr: b.addr(), Slot: int(slots.KeySlot(req.Key))}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{Seeds: []string{a.addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	v, err := c.Get(ctx, "k")
	if err != nil || string(v) != "from b" {
		t.Fatalf("get = %q, %v; want from b (following MOVED)", v, err)
	}
	// The client learns the new table in the background; from then on
	// it goes to b directly.
	deadline := time.Now().Add(5 * time.Second)
	for c.addrFor("k") != b.addr() {
		if time.Now().After(deadline) {
			t.Fatal("the client never learned that b owns k")
		}
		time.Sleep(10 * time.Millisecond)
	}
	aBefore, bBefore := a.handled.Load(), b.handled.Load()
	for range 3 {
		if v, err := c.Get(ctx, "k"); err != nil || string(v) != "from b" {
			t.Fatalf("get = %q, %v; want from b", v, err)
		}
	}
	if a.handled.Load() != aBefore || b.handled.Load() != bBefore+3 {
		t.Errorf("after learning the table: a handled %d more, b %d more; want 0 and 3",
			a.handled.Load()-aBefore, b.handled.Load()-bBefore)
	}
}

func TestClient_retriesTryAgain(t *testing.T) {
	var tries atomic.Int64
	var n *fakeNode
	n = newFakeNode(t, func(req *wire.Request) *wire.Response {
		if req.Op == wire.OpTopology {
			return &wire.Response{Topology: topologyOf(map[string]string{"n": n.addr()},
				wire.SlotRange{Start: 0, End: slots.NumSlots - 1, Master: "n", Epoch: 1})}
		}
		if tries.Add(1) <= 2 {
			return &wire.Response{Status: wire.StatusTryAgain, Error: "slot migrating"}
		}
		return &wire.Response{Offset: 9}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{Seeds: []string{n.addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	off, err := c.PutAsync(ctx, "k", []byte("v")).Wait()
	if err != nil || off != 9 || tries.Load() != 3 {
		t.Errorf("put = offset %d, %v after %d tries; want offset 9 after 3", off, err, tries.Load())
	}
}

// When the node that owns a key is gone, the client asks the other known
// nodes for the topology instead of failing at once.
func TestClient_refreshesWhenNodeUnreachable(t *testing.T) {
	var dead atomic.Bool
	var a, b *fakeNode
	top := func() *wire.Topology {
		if dead.Load() {
			return topologyOf(map[string]string{"b": b.addr()}, wire.SlotRange{Start: 0, End: slots.NumSlots - 1, Master: "b", Epoch: 2})
		}
		return topologyOf(map[string]string{"a": a.addr(), "b": b.addr()}, wire.SlotRange{Start: 0, End: slots.NumSlots - 1, Master: "a", Epoch: 1})
	}
	a = newFakeNode(t, func(req *wire.Request) *wire.Response {
		if req.Op == wire.OpTopology {
			return &wire.Response{Topology: top()}
		}
		return &wire.Response{Value: []byte("a")}
	})
	b = newFakeNode(t, func(req *wire.Request) *wire.Response {
		if req.Op == wire.OpTopology {
			return &wire.Response{Topology: top()}
		}
		return &wire.Response{Value: []byte("b")}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := Dial(ctx, Config{Seeds: []string{a.addr()}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if v, err := c.Get(ctx, "k"); err != nil || string(v) != "a" {
		t.Fatalf("get = %q, %v; want a", v, err)
	}
	dead.Store(true)
	a.stop()
	if v, err := c.Get(ctx, "k"); err != nil || string(v) != "b" {
		t.Fatalf("get after a died = %q, %v; want b", v, err)
	}
}

func TestClient_Dial_noSeedAnswers(t *testing.T) {
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := Dial(ctx, Config{Seeds: []string{addr}}); !errors.Is(err, ErrNoNodes) {
		t.Errorf("Dial = %v; want ErrNoNodes", err)
	}
}
