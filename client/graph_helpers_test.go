package client_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/jail"
	"github.com/lambdakv/lambdakv/membership"
	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/slots"
	"github.com/lambdakv/lambdakv/store"
)

// The graph tests run real nodes in this process, on loopback, with the
// sandbox, and cmd/lambdas/c/burn.c as the thunk.

var (
	burnOnce sync.Once
	burnBin  []byte
	burnErr  error
)

// burnLambda builds cmd/lambdas/c/burn.c once per test process.
func burnLambda(t testing.TB) []byte {
	t.Helper()
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not installed: the graph tests build their lambda with it")
	}
	burnOnce.Do(func() {
		dir, err := os.MkdirTemp("", "lkv-burn")
		if err != nil {
			burnErr = err
			return
		}
		defer os.RemoveAll(dir)
		out := filepath.Join(dir, "burn")
		cmd := exec.Command("gcc", "-static", "-O2", "-o", out, "../cmd/lambdas/c/burn.c")
		if b, err := cmd.CombinedOutput(); err != nil {
			burnErr = fmt.Errorf("gcc: %v\n%s", err, b)
			return
		}
		burnBin, burnErr = os.ReadFile(out)
	})
	if burnErr != nil {
		t.Fatal(burnErr)
	}
	return burnBin
}

type logWriter struct{ t testing.TB }

func (w logWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(b), "\n"))
	return len(b), nil
}

// graphNodeConfig is a node on loopback with free ports that runs
// executors lambdas at once.
func graphNodeConfig(t *testing.T, id string, executors int) *peer.Config {
	cfg := peer.DefaultConfig()
	cfg.NodeID = id
	cfg.DataDir = t.TempDir()
	cfg.Port, cfg.HTTPPort, cfg.GossipPort = 0, -1, 0
	cfg.Membership = membership.DefaultTestConfig()
	cfg.Election = election.DefaultConfig()
	cfg.RebalanceInterval = 100 * time.Millisecond
	cfg.Store = store.DefaultOptions()
	cfg.Store.Sync = store.SyncNone
	cfg.Executors = executors
	cfg.Jail = jail.DefaultConfig()
	cfg.Jail.StateDir = t.TempDir()
	cfg.Logger = hclog.New(&hclog.LoggerOptions{Name: t.Name() + "." + id, Output: logWriter{t}, Level: hclog.Warn})
	return cfg
}

// startGraphNode starts a node and shuts it down when the test ends.
func startGraphNode(t *testing.T, cfg *peer.Config) *peer.Peer {
	t.Helper()
	p, err := peer.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Start(context.Background()); err != nil {
		if strings.Contains(err.Error(), "start sandbox") {
			t.Skipf("no sandbox on this machine: %v", err) // the jail's own tests say why
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.Shutdown(ctx)
	})
	return p
}

// startGraphCluster starts one node per entry of executors, the first
// alone and the others joining it, each a master, and waits until each
// node masters a share of the slots and sees the others alive.
func startGraphCluster(t *testing.T, executors ...int) []*peer.Peer {
	t.Helper()
	var nodes []*peer.Peer
	for i, e := range executors {
		cfg := graphNodeConfig(t, fmt.Sprintf("node-%d", i), e)
		if i > 0 {
			cfg.Join = []string{nodes[0].GossipAddr()}
		}
		nodes = append(nodes, startGraphNode(t, cfg))
	}
	// Settled: every node sees the same table, with the slots spread
	// evenly, so that a key's owner no longer changes.
	waitFor(t, 60*time.Second, "the nodes share the slots", func() error {
		var first string
		for _, p := range nodes {
			top := p.Topology()
			owned, covered := map[string]int{}, 0
			for _, r := range top.Slots {
				owned[r.Master] += r.End - r.Start + 1
				covered += r.End - r.Start + 1
			}
			alive := 0
			for _, n := range top.Nodes {
				if n.State == "alive" {
					alive++
				}
			}
			if covered != slots.NumSlots || len(owned) != len(nodes) || alive != len(nodes) {
				return fmt.Errorf("%s: %d slots covered, %d masters, %d alive", p.ID(), covered, len(owned), alive)
			}
			for id, n := range owned {
				if n < slots.NumSlots/len(nodes)-1 || n > slots.NumSlots/len(nodes)+1 {
					return fmt.Errorf("%s sees %s owning %d slots", p.ID(), id, n)
				}
			}
			sig := fmt.Sprint(top.Slots)
			if first == "" {
				first = sig
			} else if sig != first {
				return fmt.Errorf("%s disagrees with %s", p.ID(), nodes[0].ID())
			}
		}
		return nil
	})
	return nodes
}

func waitFor(t *testing.T, d time.Duration, what string, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		err := cond()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, d, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func dialNode(t *testing.T, p *peer.Peer) *client.Client {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, client.Config{Seeds: []string{p.Addr()}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// putR stores key immutably and fails the test on error.
func putR(t *testing.T, c *client.Client, key string, value []byte, perm client.Perm) {
	t.Helper()
	if err := c.Put(testCtx(t, 10*time.Second), key, value, client.WithPerm(perm)); err != nil {
		t.Fatalf("put %s: %v", key, err)
	}
}

// burnThunk is a thunk that runs burn for ms of CPU, reading inputs and
// writing size bytes to out.
func burnThunk(id string, ms, size int, out string, inputs ...string) client.Thunk {
	th := client.Thunk{
		ID: id, Lambda: "burn", Raw: true,
		Args:    []string{strconv.Itoa(ms), strconv.Itoa(size), "out"},
		Outputs: []client.GraphOutput{{File: "out", Key: out}},
	}
	for i, in := range inputs {
		name := fmt.Sprintf("in%d", i)
		th.Args = append(th.Args, name)
		th.Deps = append(th.Deps, client.GraphDep{Key: in, AsFile: true, Name: name})
	}
	return th
}

// burnOutput computes what burn writes for args (those after its options)
// and the inputs' contents, as burn.c specifies.
func burnOutput(args []string, inputs [][]byte, size int) []byte {
	const prime = 0x100000001b3
	h := uint64(0xcbf29ce484222325)
	for _, a := range args {
		for _, b := range append([]byte(a), 0) {
			h = (h ^ uint64(b)) * prime
		}
	}
	for _, in := range inputs {
		n := len(in) / 8 * 8
		for i := 0; i < n; i += 8 {
			h = (h ^ binary.LittleEndian.Uint64(in[i:])) * prime
		}
		for _, b := range in[n:] {
			h = (h ^ uint64(b)) * prime
		}
	}
	x := h
	if x == 0 {
		x = 1
	}
	out := make([]byte, 0, size+8)
	for len(out) < size {
		x ^= x >> 12
		x ^= x << 25
		x ^= x >> 27
		out = binary.LittleEndian.AppendUint64(out, x*0x2545F4914F6CDD1D)
	}
	return out[:size]
}
