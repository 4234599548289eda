package peer_test

import (
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/slots"
)

// keyOwnedBy returns a key with prefix whose slot node masters.
func keyOwnedBy(t testing.TB, p *peer.Peer, node, prefix string) string {
	t.Helper()
	top := p.Topology()
	for i := range 100000 {
		k := prefix + strconv.Itoa(i)
		s := int(slots.KeySlot(k))
		for _, r := range top.Slots {
			if s >= r.Start && s <= r.End && r.Master == node {
				return k
			}
		}
	}
	t.Fatalf("no key with prefix %q on %s", prefix, node)
	return ""
}

// depBytes reads lkv_dep_bytes_total{source} from a node's metrics.
func depBytes(t testing.TB, p *peer.Peer, source string) float64 {
	t.Helper()
	resp, err := http.Get("http://" + p.HTTPAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile(`lkv_dep_bytes_total\{source="` + source + `"\} (\S+)`).FindSubmatch(b)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	return v
}

func TestCluster_execWithRemoteDeps(t *testing.T) {
	if testing.Short() {
		t.Skip("three-node cluster with lambdas")
	}
	c := &testCluster{t: t}
	for i := range 2 {
		cfg := clusterConfig(t, i)
		cfg.Executors = 2
		cfg.Jail = jail.DefaultConfig()
		cfg.Jail.StateDir = t.TempDir()
		if i > 0 {
			cfg.Join = []string{c.nodes[0].GossipAddr()}
		}
		c.nodes = append(c.nodes, startPeer(t, cfg))
	}
	// A compute node: runs lambdas and caches, owns no slots.
	ccfg := clusterConfig(t, 2)
	ccfg.Role = peer.RoleCompute
	ccfg.Executors = 2
	ccfg.Jail = jail.DefaultConfig()
	ccfg.Jail.StateDir = t.TempDir()
	ccfg.Join = []string{c.nodes[1].GossipAddr()}
	compute := startPeer(t, ccfg)
	waitUntil(t, 60*time.Second, "two masters agree", func() error { return c.agreed(c.nodes) })
	waitUntil(t, 20*time.Second, "the compute node sees the table", func() error {
		if n := len(compute.Topology().Slots); n == 0 {
			return fmt.Errorf("no slots known")
		}
		return nil
	})
	a, b := c.nodes[0], c.nodes[1]
	cl := dial(t, a)
	ctx := ctxT(t)

	lambdaKey := keyOwnedBy(t, a, b.ID(), "wc-")
	upload(t, cl, lambdaKey, buildGo(t, "cmd/lambdas/wordcount"))
	bookKey := keyOwnedBy(t, a, b.ID(), "book-")
	if err := cl.Put(ctx, bookKey, []byte("the cat saw the dog"), client.WithPerm(client.PermR)); err != nil {
		t.Fatal(err)
	}
	noteKey := keyOwnedBy(t, a, b.ID(), "note-")
	if err := cl.Put(ctx, noteKey, []byte("mutable words")); err != nil {
		t.Fatal(err)
	}
	outKey := keyOwnedBy(t, a, b.ID(), "counts-")

	run := func(node *peer.Peer) *client.ExecResult {
		t.Helper()
		res, err := cl.Exec(ctx, lambdaKey, client.ExecOptions{
			Node: node.Addr(),
			Args: []string{outKey},
			Deps: []client.Dep{{Key: bookKey, AsFile: true}, {Key: noteKey}},
		})
		if err != nil {
			t.Fatalf("exec on %s: %v", node.ID(), err)
		}
		if res.Node != node.ID() {
			t.Fatalf("ran on %s; want %s", res.Node, node.ID())
		}
		return res
	}
	want := "cat 1\ndog 1\nmutable 1\nsaw 1\nthe 2\nwords 1\n"
	if res := run(a); string(res.Output) != want {
		t.Fatalf("output %q; want %q", res.Output, want)
	}
	// The lambda's put went to the master of its slot.
	if v, err := dial(t, b).Get(ctx, outKey); err != nil || string(v) != want {
		t.Errorf("stored %s = %q, %v", outKey, v, err)
	}
	remote1, cache1 := depBytes(t, a, "remote"), depBytes(t, a, "cache")
	run(a)
	remote2, cache2 := depBytes(t, a, "remote"), depBytes(t, a, "cache")
	// Second run: the immutable binary and book come from the cache; the
	// mutable note is fetched again.
	if cache2 <= cache1 || remote2-remote1 != float64(len("mutable words")) {
		t.Errorf("second run: cache %v→%v, remote %v→%v; want the cache used and only the mutable dep (13 bytes) fetched", cache1, cache2, remote1, remote2)
	}

	// A forced delete of an immutable dep evicts it from every cache: a new
	// value under the same key is what the next run reads.
	if err := cl.Delete(ctx, bookKey, true); err != nil {
		t.Fatal(err)
	}
	if err := cl.Put(ctx, bookKey, []byte("a new book"), client.WithPerm(client.PermR)); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, 10*time.Second, "the cached book is evicted", func() error {
		res, err := cl.Exec(ctx, lambdaKey, client.ExecOptions{Node: a.Addr(), Deps: []client.Dep{{Key: bookKey, AsFile: true}}})
		if err != nil {
			return err
		}
		if got := string(res.Output); got != "a 1\nbook 1\nnew 1\n" {
			return fmt.Errorf("output %q", got)
		}
		return nil
	})

	// The compute node owns nothing and runs it, fetching everything.
	if n := compute.Topology(); ownedBy(n.Slots, compute.ID()) != 0 {
		t.Errorf("compute node owns %d slots", ownedBy(n.Slots, compute.ID()))
	}
	res, err := cl.Exec(ctx, lambdaKey, client.ExecOptions{Node: compute.Addr(), Deps: []client.Dep{{Key: bookKey, AsFile: true}}})
	if err != nil || res.Node != compute.ID() || string(res.Output) != "a 1\nbook 1\nnew 1\n" {
		t.Errorf("on the compute node: %v, %v", res, err)
	}
}

func ownedBy(rs []wireSlotRange, node string) int {
	n := 0
	for _, r := range rs {
		if r.Master == node {
			n += r.End - r.Start + 1
		}
	}
	return n
}
