package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/internal/gobuild"
	"github.com/lambdakv/lambdakv/slots"
)

// workload puts a job's inputs into a fresh cluster and returns its graph.
type workload interface {
	prepare(ctx context.Context, c *client.Client, addr string) (*client.Graph, time.Duration, error)
}

// synthetic is a graph from lkv graph gen: its inputs are stored by
// lkv graph gen --put itself.
type synthetic struct {
	lkv   string
	burn  string   // static build of cmd/lambdas/c/burn.c
	flags []string // lkv graph gen flags
	file  string   // where the graph is written
}

func (w *synthetic) prepare(ctx context.Context, _ *client.Client, addr string) (*client.Graph, time.Duration, error) {
	start := time.Now()
	args := append([]string{"--addr", addr, "graph", "gen"}, w.flags...)
	args = append(args, "--put", "--lambda-file", w.burn, "-o", w.file)
	cmd := exec.CommandContext(ctx, w.lkv, args...)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, 0, fmt.Errorf("lkv graph gen: %w\n%s", err, out)
	}
	took := time.Since(start)
	b, err := os.ReadFile(w.file)
	if err != nil {
		return nil, 0, err
	}
	g, err := client.ParseGraph(b)
	return g, took, err
}

// goStd is the Go standard library as lkv gobuild builds it: planned
// once, uploaded into every cluster.
type goStd struct {
	build *gobuild.Build
	plan  time.Duration
}

func planGoStd(ctx context.Context, dir string) (*goStd, error) {
	start := time.Now()
	b, err := gobuild.MakePlan(ctx, gobuild.PlanOptions{Dir: dir, Packages: []string{"std"}})
	if err != nil {
		return nil, fmt.Errorf("plan go build std: %w", err)
	}
	return &goStd{build: b, plan: time.Since(start)}, nil
}

func (w *goStd) prepare(ctx context.Context, c *client.Client, _ string) (*client.Graph, time.Duration, error) {
	st, err := gobuild.UploadFiles(ctx, c, w.build.Uploads)
	if err != nil {
		return nil, 0, err
	}
	return &w.build.Graph, st.Wall, nil
}

// localGoBuild times a cold go build -a -p 2 std with a fresh build
// cache, CGO_ENABLED=0 as lkv gobuild builds.
func localGoBuild(ctx context.Context, tmp string) (time.Duration, error) {
	cache, err := os.MkdirTemp(tmp, "gocache-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(cache)
	cmd := exec.CommandContext(ctx, "go", "build", "-a", "-p", "2", "std")
	cmd.Env = append(os.Environ(), "GOCACHE="+cache, "CGO_ENABLED=0")
	start := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("go build std: %w\n%s", err, out)
	}
	return time.Since(start), nil
}

// coLocated places a thunk on the node that owns the slot of its first
// output, so that it stores its result locally (the owner computes, as a
// stored procedure would); when that node has no free slot it falls back
// to the least loaded one. A placement sees only a thunk's deps, so the
// thunk is found by them.
func coLocated(g *client.Graph, c *client.Client) client.Placement {
	outs := make(map[string]string, len(g.Thunks))
	for i := range g.Thunks {
		th := &g.Thunks[i]
		var out string
		switch {
		case len(th.Outputs) > 0:
			out = th.Outputs[0].Key
		case len(th.Puts) > 0:
			out = th.Puts[0]
		default:
			continue
		}
		outs[depSignature(th.Lambda, th.Deps)] = out
	}
	return client.PlacementFunc(func(pc *client.PlacementContext) int {
		keys := make([]string, len(pc.Deps))
		for i, d := range pc.Deps {
			keys[i] = d.Key
		}
		owner := ownerOf(c, outs[strings.Join(keys, "\x00")])
		if i := slices.IndexFunc(pc.Nodes, func(n client.NodeLoad) bool { return n.ID == owner }); i >= 0 {
			return i
		}
		return client.WorkStealing.Place(pc)
	})
}

// depSignature is the key list the graph runner hands a placement: the
// lambda, then the deps in order.
func depSignature(lambda string, deps []client.GraphDep) string {
	keys := []string{lambda}
	for _, d := range deps {
		keys = append(keys, d.Key)
	}
	return strings.Join(keys, "\x00")
}

// ownerOf returns the id of the master of key's slot, or "".
func ownerOf(c *client.Client, key string) string {
	top := c.Topology()
	if key == "" || top == nil {
		return ""
	}
	s := int(slots.KeySlot(key))
	for _, r := range top.Slots {
		if s >= r.Start && s <= r.End {
			return r.Master
		}
	}
	return ""
}

// placementFor returns the placement a spec names.
func placementFor(name string, g *client.Graph, c *client.Client) (client.Placement, error) {
	if name == "co-located" {
		return coLocated(g, c), nil
	}
	return client.PlacementByName(name)
}

// buildBinaries builds lkv and the burn lambda into dir.
func buildBinaries(ctx context.Context, repo, dir string) (lkv, burn string, err error) {
	lkv = filepath.Join(dir, "lkv")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", lkv, "./cmd/lkv")
	cmd.Dir = repo
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build lkv: %w\n%s", err, out)
	}
	burn = filepath.Join(dir, "burn")
	cmd = exec.CommandContext(ctx, "gcc", "-static", "-O2", "-o", burn, "cmd/lambdas/c/burn.c")
	cmd.Dir = repo
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", "", fmt.Errorf("build burn (gcc): %w\n%s", err, out)
	}
	return lkv, burn, nil
}
