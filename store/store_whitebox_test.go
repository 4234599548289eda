package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/hashicorp/go-hclog"
)

// newIdleStore opens a store whose committer is not started, so a test can
// queue ops first and have the committer take them as one batch.
func newIdleStore(t *testing.T, opts *Options) *Store {
	t.Helper()
	if opts == nil {
		opts = &Options{Sync: SyncNone}
	}
	opts.Logger = hclog.NewNullLogger()
	s, err := open(filepath.Join(t.TempDir(), "s.db"), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := CheckInvariants(s); err != nil && !errors.Is(err, ErrClosed) {
			t.Errorf("invariants: %v", err)
		}
		_ = s.Close()
	})
	return s
}

// queue runs fn in a goroutine and waits until it has queued its op, so
// ops queue in the order of the queue calls.
func queue(t *testing.T, s *Store, fn func() (uint64, error)) <-chan result {
	t.Helper()
	n := len(s.ops)
	ch := make(chan result, 1)
	go func() {
		off, err := fn()
		ch <- result{offset: off, err: err}
	}()
	for deadline := time.Now().Add(5 * time.Second); len(s.ops) == n; {
		if time.Now().After(deadline) {
			t.Fatal("op not queued after 5s")
		}
		time.Sleep(100 * time.Microsecond)
	}
	return ch
}

func TestStore_commit_sameKeyInOneBatch(t *testing.T) {
	s := newIdleStore(t, nil)
	ctx := context.Background()
	cctx, cancel := context.WithCancel(ctx)
	put := func(ctx context.Context, key, v string, p Perm) func() (uint64, error) {
		return func() (uint64, error) { return s.Put(ctx, key, []byte(v), p) }
	}
	del := func(key string, force bool) func() (uint64, error) {
		return func() (uint64, error) { return s.Delete(ctx, key, force) }
	}
	steps := []struct {
		name    string
		fn      func() (uint64, error)
		wantOff uint64
		wantErr error
	}{
		{"put rw", put(ctx, "k", "a", PermR|PermW), 1, nil},
		{"replace, now immutable", put(ctx, "k", "b", PermR), 2, nil},
		{"put over immutable", put(ctx, "k", "c", PermR|PermW), 0, ErrReadOnly},
		{"repeat immutable", put(ctx, "k", "b", PermR), 2, nil},
		{"delete immutable", del("k", false), 0, ErrReadOnly},
		{"force delete", del("k", true), 3, nil},
		{"delete missing", del("k", false), 0, ErrNotFound},
		{"cancelled while queued", put(cctx, "other", "x", PermR), 0, context.Canceled},
		{"put again", put(ctx, "k", "d", PermR), 4, nil},
	}
	var results []<-chan result
	for _, st := range steps {
		results = append(results, queue(t, s, st.fn))
	}
	cancel() // the "cancelled while queued" Put returns now; its op stays queued
	s.start()
	for i, st := range steps {
		r := <-results[i]
		if r.offset != st.wantOff || !errors.Is(r.err, st.wantErr) || (st.wantErr == nil) != (r.err == nil) {
			t.Errorf("%s: got %d, %v; want %d, %v", st.name, r.offset, r.err, st.wantOff, st.wantErr)
		}
	}
	// The committer publishes a batch's counters before answering its ops.
	if st := s.Stats(); st.Commits != 1 || st.Ops != 4 || st.Unchanged != 1 || st.Rejected != 4 || st.Offset != 4 || st.Keys != 1 {
		t.Errorf("Stats = %+v; want Commits=1 Ops=4 Unchanged=1 Rejected=4 Offset=4 Keys=1", st)
	}
	if v, p, err := s.Get("k"); string(v) != "d" || p != PermR || err != nil {
		t.Errorf("Get(k) = %q, %v, %v; want d, r--, nil", v, p, err)
	}
	if _, _, err := s.Get("other"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get(other) = %v; want ErrNotFound: a write cancelled while queued is dropped", err)
	}
}

func TestStore_commit_noChangeNoCommit(t *testing.T) {
	s := newIdleStore(t, nil)
	s.start()
	ctx := context.Background()
	if _, err := s.Put(ctx, "k", []byte("v"), PermR); err != nil {
		t.Fatal(err)
	}
	commits := s.Stats().Commits
	for range 5 {
		if _, err := s.Put(ctx, "k", []byte("v"), PermR); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Put(ctx, "k", []byte("w"), PermR); !errors.Is(err, ErrReadOnly) {
			t.Fatalf("Put over immutable = %v; want ErrReadOnly", err)
		}
		if _, err := s.Delete(ctx, "missing", true); !errors.Is(err, ErrNotFound) {
			t.Fatalf("Delete missing = %v; want ErrNotFound", err)
		}
	}
	if got := s.Stats().Commits; got != commits {
		t.Errorf("Commits=%d after only repeats and refusals; want %d (no transaction to commit)", got, commits)
	}
}

func TestStore_commit_maxBatchOps(t *testing.T) {
	s := newIdleStore(t, &Options{Sync: SyncNone, MaxBatchOps: 4})
	var results []<-chan result
	for i := range 4 { // the channel holds MaxBatchOps ops
		key := string(rune('a' + i))
		results = append(results, queue(t, s, func() (uint64, error) {
			return s.Put(context.Background(), key, []byte("v"), PermR)
		}))
	}
	s.start()
	for _, ch := range results {
		if r := <-ch; r.err != nil {
			t.Fatal(r.err)
		}
	}
	if st := s.Stats(); st.Commits != 1 || st.Ops != 4 {
		t.Errorf("Commits=%d Ops=%d; want 1, 4", st.Commits, st.Ops)
	}
}

func TestStore_commit_maxBatchBytes(t *testing.T) {
	s := newIdleStore(t, &Options{Sync: SyncNone, MaxBatchBytes: 1000})
	var results []<-chan result
	for i := range 6 {
		key := string(rune('a' + i))
		results = append(results, queue(t, s, func() (uint64, error) {
			return s.Put(context.Background(), key, make([]byte, 600), PermR)
		}))
	}
	s.start()
	for _, ch := range results {
		if r := <-ch; r.err != nil {
			t.Fatal(r.err)
		}
	}
	if st := s.Stats(); st.Commits != 3 || st.Ops != 6 {
		t.Errorf("Commits=%d Ops=%d; want 3 commits of 2 ops (1200 bytes >= 1000)", st.Commits, st.Ops)
	}
}

// TestStore_commit_failedBatch makes bbolt fail a commit (the file may not
// grow past db.MaxSize): every op of the batch gets the error, nothing is
// stored, the counters stay, and the store keeps working.
func TestStore_commit_failedBatch(t *testing.T) {
	s := newIdleStore(t, nil)
	s.db.MaxSize = 1 << 20
	ctx := context.Background()
	small := queue(t, s, func() (uint64, error) { return s.Put(ctx, "small", []byte("v"), PermR) })
	big := queue(t, s, func() (uint64, error) { return s.Put(ctx, "big", make([]byte, 4<<20), PermR) })
	s.start()
	for name, ch := range map[string]<-chan result{"small": small, "big": big} {
		if r := <-ch; r.err == nil || errors.Is(r.err, ErrReadOnly) {
			t.Errorf("%s: err=%v; want the commit's I/O error", name, r.err)
		} else {
			t.Logf("%s: %v", name, r.err)
		}
	}
	st := s.Stats()
	if st.FailedCommits != 1 || st.Offset != 0 || st.Keys != 0 {
		t.Errorf("Stats = %+v; want FailedCommits=1 Offset=0 Keys=0", st)
	}
	if off, err := s.Put(ctx, "small", []byte("v"), PermR); off != 1 || err != nil {
		t.Errorf("Put after a failed batch = %d, %v; want 1, nil", off, err)
	}
}

func TestStore_Close_failsQueued(t *testing.T) {
	s := newIdleStore(t, nil)
	var results []<-chan result
	for _, key := range []string{"a", "b", "c"} {
		results = append(results, queue(t, s, func() (uint64, error) {
			return s.Put(context.Background(), key, []byte("v"), PermR)
		}))
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	<-s.closing
	s.start()
	for _, ch := range results {
		if r := <-ch; !errors.Is(r.err, ErrClosed) {
			t.Errorf("queued Put = %v; want ErrClosed", r.err)
		}
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
}
