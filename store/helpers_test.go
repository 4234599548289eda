package store_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/go-hclog"

	"github.com/lambdakv/lambdakv/store"
)

// testLogger routes the store's logs to t.Log.
func testLogger(t testing.TB) hclog.Logger {
	return hclog.New(&hclog.LoggerOptions{
		Name:   "store",
		Output: testWriter{t},
		Level:  hclog.Debug,
	})
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// testOptions returns options for tests: no fsync (the tests that need
// durability set SyncAlways themselves) and the test logger.
func testOptions(t testing.TB) *store.Options {
	o := store.DefaultOptions()
	o.Sync = store.SyncNone
	o.Logger = testLogger(t)
	return o
}

// openTestStore opens a store in a fresh directory; cleanup checks the
// invariants, then closes it. It returns the store and its path.
func openTestStore(t testing.TB, opts *store.Options) (*store.Store, string) {
	t.Helper()
	if opts == nil {
		opts = testOptions(t)
	}
	path := filepath.Join(t.TempDir(), "data", "store.db")
	s := mustOpen(t, path, opts)
	return s, path
}

// mustOpen opens path and registers a cleanup that checks the invariants
// and closes the store (a no-op if the test closed it already).
func mustOpen(t testing.TB, path string, opts *store.Options) *store.Store {
	t.Helper()
	s, err := store.Open(path, opts)
	if err != nil {
		t.Fatalf("Open(%s): %v", path, err)
	}
	t.Cleanup(func() {
		if err := store.CheckInvariants(s); err != nil && !errors.Is(err, store.ErrClosed) {
			t.Errorf("invariants: %v", err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return s
}
