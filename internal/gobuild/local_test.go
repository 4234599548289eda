package gobuild_test

import (
	"context"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/internal/gobuild"
)

// TestLocalExecutor_identical runs the translated hello build hermetically
// on this machine and compares every output with go's own.
func TestLocalExecutor_identical(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the hello program twice (-short)")
	}
	b := exactHello(t)
	ex := gobuild.NewLocalExecutor(b.Uploads)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	rep, err := gobuild.Run(ctx, &b.Graph, ex, gobuild.RunOptions{Parallel: 2})
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	t.Logf("%d thunks in %v", len(rep.Thunks), rep.Wall)
	checkIdentical(t, b, ex.Get)
	exe, err := ex.Get(b.Binary)
	if err != nil {
		t.Fatal(err)
	}
	runBinary(t, exe)
}
