package gobuild_test

import (
	"context"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/internal/gobuild"
)

// TestLocalExecutor_identical runs the translated steps of the packages
// below runtime (compile, symabis, asm, pack, buildid) hermetically on
// this machine and compares their archives with go's own. The whole
// build, link included, is compared through a cluster in
// TestCluster_hello; this one tells translation mistakes from sandbox
// ones, quickly.
func TestLocalExecutor_identical(t *testing.T) {
	if testing.Short() {
		t.Skip("needs a local go build -a of the hello program (-short)")
	}
	b := exactHello(t)
	g := below(&b.Graph, "compile runtime")
	ex := gobuild.NewLocalExecutor(b.Uploads)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := gobuild.Run(ctx, g, ex, gobuild.RunOptions{Parallel: 2})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("%d of %d thunks in %v", rep.Done, len(b.Graph.Thunks), rep.Wall)
	if n := checkIdentical(t, b, ex.Get); n < 8 {
		t.Errorf("compared %d archives; want at least 8", n)
	}
}

// below returns the thunks that do not depend, directly or not, on the
// thunk named id (nor are it).
func below(g *client.Graph, id string) *client.Graph {
	tainted := map[string]bool{}
	out := &client.Graph{}
	for _, th := range g.Thunks {
		bad := th.ID == id
		for _, d := range th.Deps {
			bad = bad || tainted[d.Key]
		}
		if bad {
			for _, o := range th.Outputs {
				tainted[o.Key] = true
			}
			continue
		}
		out.Thunks = append(out.Thunks, th)
	}
	return out
}
