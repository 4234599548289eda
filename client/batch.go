package client

import (
	"context"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// Batch collects requests and sends them together: one write per node for
// all the requests routed there, which is what pipelining many requests
// from one goroutine needs. Futures returned by a Batch complete only after
// Send. A Batch is not safe for concurrent use; the zero value is not
// usable; call Client.Batch.
type Batch struct {
	c     *Client
	ctx   context.Context
	items []*pending
}

// Batch starts an empty batch whose requests use ctx.
func (c *Client) Batch(ctx context.Context) *Batch {
	return &Batch{c: c, ctx: ctx}
}

// Len returns the number of requests not yet sent.
func (b *Batch) Len() int { return len(b.items) }

// Get adds a get of key.
func (b *Batch) Get(key string) *Future[[]byte] {
	f := &Future[[]byte]{conv: respValue}
	f.p.req = wire.Request{Op: wire.OpGet, Key: key, ReplicaOK: b.c.cfg.ReadFromReplicas}
	b.add(&f.p)
	return f
}

// Put adds a put of value under key.
func (b *Batch) Put(key string, value []byte, opts ...PutOption) *Future[uint64] {
	if value == nil {
		value = []byte{}
	}
	f := &Future[uint64]{conv: respOffset}
	f.p.req = wire.Request{Op: wire.OpPut, Key: key, Value: value, Perm: uint8(PermRW)}
	for _, o := range opts {
		o(&f.p.req)
	}
	b.add(&f.p)
	return f
}

func (b *Batch) add(p *pending) {
	p.prepare(b.c, b.ctx, "")
	b.items = append(b.items, p)
}

// Send sends every request added since the last Send, grouped by node. It
// does not wait for the answers: Wait on the futures for them.
func (b *Batch) Send() {
	groups := make(map[string][]*call)
	for _, p := range b.items {
		p.addr = p.c.addrFor(p.req.Key)
		groups[p.addr] = append(groups[p.addr], &p.own)
	}
	for addr, calls := range groups {
		nc, err := b.c.conn(b.ctx, addr)
		for _, p := range b.items {
			if p.addr != addr {
				continue
			}
			if err != nil {
				p.err = err
			} else {
				p.cl = &p.own
			}
		}
		if err == nil {
			nc.startCalls(b.ctx, calls...)
		}
	}
	clear(b.items)
	b.items = b.items[:0]
}
