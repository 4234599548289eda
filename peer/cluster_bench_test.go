package peer_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/membership"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// BenchmarkCluster_form measures how long n nodes, each joining through
// the one before, take until every node holds the same balanced table and
// follows one coordinator. It includes the election and the moves of the
// (empty) slots.
//
//	go test -run XXX -bench Cluster_form -benchtime 1x ./peer
func BenchmarkCluster_form(b *testing.B) {
	for _, n := range []int{3, 10, 50} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			for range b.N {
				start := time.Now()
				c := benchCluster(b, n)
				if err := waitAgreed(c, 120*time.Second); err != nil {
					b.Fatal(err)
				}
				b.ReportMetric(time.Since(start).Seconds(), "s-to-agree")
			}
		})
	}
}

// BenchmarkCluster_tableChange measures how long a change of the slot table
// (a node joins and the coordinator moves slots to it) takes to reach
// every node of an n-node cluster.
func BenchmarkCluster_tableChange(b *testing.B) {
	for _, n := range []int{3, 10, 50} {
		b.Run(fmt.Sprintf("nodes=%d", n), func(b *testing.B) {
			c := benchCluster(b, n)
			if err := waitAgreed(c, 120*time.Second); err != nil {
				b.Fatal(err)
			}
			epoch := c.nodes[0].Topology().Epoch
			start := time.Now()
			cfg := benchConfig(b, n)
			cfg.Join = []string{c.nodes[n-1].GossipAddr()}
			c.nodes = append(c.nodes, startPeer(b, cfg))
			first := time.Duration(0)
			deadline := time.Now().Add(120 * time.Second)
			for time.Now().Before(deadline) {
				moved := 0
				for _, p := range c.nodes {
					if p.Topology().Epoch > epoch {
						moved++
					}
				}
				if moved > 0 && first == 0 {
					first = time.Since(start)
				}
				if moved == len(c.nodes) {
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			if err := waitAgreed(c, 120*time.Second); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(first.Seconds()*1000, "ms-first-change")
			b.ReportMetric(time.Since(start).Seconds(), "s-all-agree")
		})
	}
}

// benchConfig uses the production (LAN) gossip timers: the test timers
// declare nodes dead falsely when 50 nodes share two cores.
func benchConfig(b *testing.B, i int) *peer.Config {
	cfg := clusterConfig(b, i)
	cfg.Membership = membership.DefaultConfig()
	cfg.Logger = hclog.NewNullLogger()
	cfg.HTTPPort = -1
	cfg.Executors = -1
	return cfg
}

func benchCluster(b *testing.B, n int) *testCluster {
	c := &testCluster{}
	for i := range n {
		cfg := benchConfig(b, i)
		if i > 0 {
			cfg.Join = []string{c.nodes[i-1].GossipAddr()}
		}
		c.nodes = append(c.nodes, startPeer(b, cfg))
	}
	return c
}

func waitAgreed(c *testCluster, d time.Duration) error {
	deadline := time.Now().Add(d)
	var err error
	for time.Now().Before(deadline) {
		if err = c.agreed(c.nodes); err == nil {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return err
}

// BenchmarkCluster_moveSlot measures copying one slot holding 100 MB (100
// values of 1 MiB) to another node: close, scan, import, hold.
//
//	go test -run XXX -bench Cluster_moveSlot -benchtime 1x ./peer
func BenchmarkCluster_moveSlot(b *testing.B) {
	c := benchCluster(b, 1)
	cl := dial(b, c.nodes[0])
	ctx := ctxT(b)
	value := make([]byte, 1<<20)
	const tag = "{movable}"
	slot := int(slots.KeySlot(tag))
	for i := range 100 {
		if err := cl.Put(ctx, fmt.Sprintf("%s%d", tag, i), value); err != nil {
			b.Fatal(err)
		}
	}
	cfg := benchConfig(b, 1)
	cfg.Join = []string{c.nodes[0].GossipAddr()}
	cfg.Role = peer.RoleCompute // joins without taking slots, so only this move happens
	target := startPeer(b, cfg)
	b.ResetTimer()
	for range b.N {
		start := time.Now()
		_, err := cl.Do(ctx, &wire.Request{Op: wire.OpMigrate, SlotStart: slot, SlotEnd: slot, Target: target.ID()}, c.nodes[0].Addr())
		if err != nil {
			b.Fatal(err)
		}
		d := time.Since(start)
		b.ReportMetric(d.Seconds(), "s/slot")
		b.ReportMetric(100/d.Seconds(), "MB/s")
	}
}

// BenchmarkCluster_execRemoteDeps runs a lambda on one node whose binary
// and a 4 MiB immutable input live on another: the first run fetches them,
// later runs read them from the cache. It reports bytes per source and the
// time of the first and of later runs, beside a run on the node that holds
// everything.
//
//	go test -run XXX -bench Cluster_execRemoteDeps -benchtime 20x ./peer
func BenchmarkCluster_execRemoteDeps(b *testing.B) {
	c := &testCluster{}
	for i := range 2 {
		cfg := benchConfig(b, i)
		cfg.HTTPPort = 0
		cfg.Executors = 2
		cfg.Jail = jail.DefaultConfig()
		cfg.Jail.StateDir = b.TempDir()
		if i > 0 {
			cfg.Join = []string{c.nodes[0].GossipAddr()}
		}
		c.nodes = append(c.nodes, startPeer(b, cfg))
	}
	if err := waitAgreed(c, 60*time.Second); err != nil {
		b.Fatal(err)
	}
	a, h := c.nodes[0], c.nodes[1] // a runs, h holds
	cl := dial(b, a)
	ctx := ctxT(b)
	lambdaKey := keyOwnedBy(b, a, h.ID(), "wc-")
	upload(b, cl, lambdaKey, buildGo(b, "cmd/lambdas/wordcount"))
	input := keyOwnedBy(b, a, h.ID(), "input-")
	text := make([]byte, 4<<20)
	for i := range text {
		text[i] = "abcdefgh "[i%9]
	}
	if err := cl.Put(ctx, input, text, client.WithPerm(client.PermR)); err != nil {
		b.Fatal(err)
	}
	opts := func(node *peer.Peer) client.ExecOptions {
		return client.ExecOptions{Node: node.Addr(), Deps: []client.Dep{{Key: input, AsFile: true}}}
	}
	run := func(node *peer.Peer) time.Duration {
		start := time.Now()
		if _, err := cl.Exec(ctx, lambdaKey, opts(node)); err != nil {
			b.Fatal(err)
		}
		return time.Since(start)
	}
	first := run(a)
	remote := depBytes(b, a, "remote")
	b.ResetTimer()
	var later time.Duration
	for range b.N {
		later += run(a)
	}
	b.StopTimer()
	var local time.Duration
	for range b.N {
		local += run(h)
	}
	cache := depBytes(b, a, "cache")
	b.ReportMetric(float64(first.Microseconds())/1000, "ms-first")
	b.ReportMetric(float64(later.Microseconds())/1000/float64(b.N), "ms-cached")
	b.ReportMetric(float64(local.Microseconds())/1000/float64(b.N), "ms-on-holder")
	b.ReportMetric(remote/1e6, "MB-fetched-first")
	b.ReportMetric(cache/1e6/float64(b.N), "MB-cache-per-run")
	b.ReportMetric(depBytes(b, a, "remote")-remote, "B-fetched-later")
}
