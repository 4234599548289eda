package gobuild_test

import (
	"context"
	"encoding/json"
	"path"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/internal/gobuild"
)

// planN translates `go build -a -n pkgs` (quick: nothing is built).
func planN(t *testing.T, pkgs ...string) *gobuild.Build {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := gobuild.MakePlan(ctx, gobuild.PlanOptions{
		Dir: helloModule(t), Packages: pkgs, ToolCache: tmpRoot + "/tools",
	})
	if err != nil {
		t.Fatalf("MakePlan: %v", err)
	}
	return b
}

func findThunk(g *client.Graph, id string) *client.Thunk {
	for i := range g.Thunks {
		if g.Thunks[i].ID == id {
			return &g.Thunks[i]
		}
	}
	return nil
}

func depNames(th *client.Thunk) []string {
	var n []string
	for _, d := range th.Deps {
		n = append(n, d.Name)
	}
	return n
}

// TestMakePlan_shape checks the translation of real go build output:
// errors (asm, includes, pack) and internal/trace/traceviewer (embed).
func TestMakePlan_shape(t *testing.T) {
	b := planN(t, "errors", "internal/trace/traceviewer")
	g := &b.Graph
	goroot := b.Toolchain.GOROOT
	keys := map[string]bool{}
	for _, u := range b.Uploads {
		keys[u.Key] = true
	}
	ids := map[string]bool{}
	for _, th := range g.Thunks {
		if ids[th.ID] {
			t.Errorf("thunk id %q twice", th.ID)
		}
		ids[th.ID] = true
		if !keys[th.Lambda] {
			t.Errorf("%s: tool %s is not uploaded", th.ID, th.Lambda)
		}
		for _, a := range th.Args {
			if strings.Contains(a, "$WORK") || strings.Contains(a, goroot+"/") || strings.Contains(a, tmpRoot) {
				t.Errorf("%s: argument %q names a path outside the working directory", th.ID, a)
			}
		}
		for _, d := range th.Deps {
			if !d.AsFile || d.Name == "" || path.Clean(d.Name) != d.Name || path.IsAbs(d.Name) || strings.HasPrefix(d.Name, "..") {
				t.Errorf("%s: bad dep %+v", th.ID, d)
			}
			if !keys[d.Key] {
				t.Errorf("%s: dep %s (%s) is neither uploaded nor made before", th.ID, d.Name, d.Key)
			}
		}
		for _, o := range th.Outputs {
			keys[o.Key] = true
		}
		if tp := flag(th.Args, "-trimpath"); tp != "" && !strings.HasPrefix(tp, client.WorkDirArg+"/_w=>;") {
			t.Errorf("%s: -trimpath %q", th.ID, tp)
		}
	}
	if b.Packages["errors"] == "" || b.Binary != "" {
		t.Errorf("Packages[errors] = %q, Binary = %q", b.Packages["errors"], b.Binary)
	}
	checks := []struct {
		id   string
		deps []string
	}{
		{"compile errors", []string{"_dep/internal/reflectlite.a", "_w/importcfg", "errors.go"}},
		{"symabis runtime", []string{"_w/go_asm.h", "textflag.h", "cgo/abi_amd64.h", "asm_amd64.s"}},
		{"asm runtime/asm_amd64.s", []string{"_w/go_asm.h", "cgo/abi_amd64.h", "asm_amd64.s"}},
		{"asm internal/bytealg/compare_amd64.s", []string{"_w/go_asm.h", "_inc/textflag.h", "compare_amd64.s"}},
		{"pack runtime", []string{"_w/_pkg_.a", "_w/asm_amd64.o"}},
		{"compile internal/trace/traceviewer", []string{"_w/embedcfg", "static/trace_viewer_full.html"}},
	}
	for _, c := range checks {
		th := findThunk(g, c.id)
		if th == nil {
			t.Errorf("no thunk %q", c.id)
			continue
		}
		names := depNames(th)
		for _, d := range c.deps {
			if !slices.Contains(names, d) {
				t.Errorf("%s: deps %v lack %s", c.id, names, d)
			}
		}
	}
	// symabis reads an empty go_asm.h; the asm steps read compile's.
	empty := "gobuild/f/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
	if th := findThunk(g, "symabis runtime"); th != nil && depKey(th, "_w/go_asm.h") != empty {
		t.Errorf("symabis runtime reads go_asm.h %s; want the empty file", depKey(th, "_w/go_asm.h"))
	}
	if th := findThunk(g, "asm runtime/asm_amd64.s"); th != nil && !strings.HasPrefix(depKey(th, "_w/go_asm.h"), "gobuild/o/") {
		t.Errorf("asm runtime reads go_asm.h %s; want compile's", depKey(th, "_w/go_asm.h"))
	}
	// The same build translates to the same graph (keys are hashes).
	again := planN(t, "errors", "internal/trace/traceviewer")
	j1, _ := json.Marshal(b.Graph)
	j2, _ := json.Marshal(again.Graph)
	if !reflect.DeepEqual(j1, j2) {
		t.Error("two translations of one build differ")
	}
}

func depKey(th *client.Thunk, name string) string {
	for _, d := range th.Deps {
		if d.Name == name {
			return d.Key
		}
	}
	return ""
}

func flag(args []string, f string) string {
	for i, a := range args {
		if a == f && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}
