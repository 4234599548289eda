package store_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/store"
)

func TestStore_Put_immutableRace(t *testing.T) {
	for _, mode := range []store.SyncMode{store.SyncNone, store.SyncAlways} {
		t.Run(mode.String(), func(t *testing.T) {
			o := testOptions(t)
			o.Sync = mode
			s, _ := openTestStore(t, o)
			const n = 100
			var (
				wg     sync.WaitGroup
				start  = make(chan struct{})
				errs   [n]error
				offs   [n]uint64
				values [n]string
			)
			for i := range n {
				values[i] = fmt.Sprintf("value-%d", i)
				wg.Go(func() {
					<-start
					offs[i], errs[i] = s.Put(ctx, "{one}key", []byte(values[i]), r)
				})
			}
			close(start)
			wg.Wait()
			winner := -1
			for i, err := range errs {
				switch {
				case err == nil && winner >= 0:
					t.Errorf("writers %d and %d both succeeded", winner, i)
				case err == nil:
					winner = i
				case !errors.Is(err, store.ErrReadOnly):
					t.Errorf("writer %d: %v; want nil or ErrReadOnly", i, err)
				}
			}
			if winner < 0 {
				t.Fatal("no writer succeeded")
			}
			wantValue(t, s, "{one}key", values[winner], r)
			if s.Offset() != offs[winner] || offs[winner] != 1 {
				t.Errorf("winner offset=%d Offset()=%d; want 1, 1", offs[winner], s.Offset())
			}
			if st := s.Stats(); st.Rejected != n-1 || st.Ops != 1 {
				t.Errorf("Stats Rejected=%d Ops=%d; want %d, 1", st.Rejected, st.Ops, n-1)
			}
		})
	}
}

func TestStore_Put_concurrentOffsets(t *testing.T) {
	o := testOptions(t)
	o.Sync = store.SyncAlways
	s, _ := openTestStore(t, o)
	const writers, each = 50, 40
	var (
		mu   sync.Mutex
		seen = map[uint64]string{}
		wg   sync.WaitGroup
	)
	for w := range writers {
		wg.Go(func() {
			var last uint64
			for i := range each {
				key := fmt.Sprintf("w%d-%d", w, i)
				off, err := s.Put(ctx, key, []byte(key), rw)
				if err != nil {
					t.Errorf("Put(%s): %v", key, err)
					return
				}
				if off <= last {
					t.Errorf("writer %d: offset %d after %d; want increasing", w, off, last)
				}
				last = off
				mu.Lock()
				if prev, dup := seen[off]; dup {
					t.Errorf("offset %d given to %s and %s", off, prev, key)
				}
				seen[off] = key
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	const total = writers * each
	if len(seen) != total || s.Offset() != total {
		t.Errorf("distinct offsets=%d Offset()=%d; want %d, %d", len(seen), s.Offset(), total, total)
	}
	st := s.Stats()
	if st.Ops != total || st.Keys != total {
		t.Errorf("Stats Ops=%d Keys=%d; want %d", st.Ops, st.Keys, total)
	}
	t.Logf("%d writes in %d commits (%.1f per commit)", st.Ops, st.Commits, float64(st.Ops)/float64(st.Commits))
}

func TestStore_Put_ctxCancelled(t *testing.T) {
	s, _ := openTestStore(t, nil)
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Put(cctx, "k", []byte("v"), rw); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with cancelled ctx = %v; want context.Canceled", err)
	}
	if _, err := s.Delete(cctx, "k", true); !errors.Is(err, context.Canceled) {
		t.Errorf("Delete with cancelled ctx = %v; want context.Canceled", err)
	}
	if _, err := s.DeleteSlot(cctx, 0); !errors.Is(err, context.Canceled) {
		t.Errorf("DeleteSlot with cancelled ctx = %v; want context.Canceled", err)
	}
	if _, _, err := s.Get("k"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Get after cancelled put = %v; want ErrNotFound", err)
	}
	if s.Offset() != 0 {
		t.Errorf("Offset()=%d; want 0", s.Offset())
	}
}

// TestStore_Put_ctxDeadlineUnderLoad cancels writers mid-flight: each either
// reports success, and then its key is stored, or a context error.
func TestStore_Put_ctxDeadlineUnderLoad(t *testing.T) {
	o := testOptions(t)
	o.Sync = store.SyncAlways
	s, _ := openTestStore(t, o)
	var wg sync.WaitGroup
	var ok, cancelled atomic.Int64
	for w := range 20 {
		wg.Go(func() {
			for i := range 50 {
				key := fmt.Sprintf("w%d-%d", w, i)
				cctx, cancel := context.WithTimeout(ctx, time.Duration(i%5)*100*time.Microsecond)
				_, err := s.Put(cctx, key, []byte(key), rw)
				cancel()
				switch {
				case err == nil:
					ok.Add(1)
					wantValue(t, s, key, key, rw)
				case errors.Is(err, context.DeadlineExceeded):
					cancelled.Add(1)
				default:
					t.Errorf("Put(%s): %v", key, err)
				}
			}
		})
	}
	wg.Wait()
	t.Logf("%d succeeded, %d cancelled", ok.Load(), cancelled.Load())
	if s.Stats().Keys < ok.Load() {
		t.Errorf("Keys=%d; want >= %d acknowledged", s.Stats().Keys, ok.Load())
	}
}

func TestStore_Close_writersInFlight(t *testing.T) {
	o := testOptions(t)
	o.Sync = store.SyncAlways
	s, _ := openTestStore(t, o)
	var wg sync.WaitGroup
	var acked atomic.Int64
	for w := range 50 {
		wg.Go(func() {
			for i := 0; ; i++ {
				key := fmt.Sprintf("w%d-%d", w, i)
				_, err := s.Put(ctx, key, []byte(key), rw)
				if errors.Is(err, store.ErrClosed) {
					return
				}
				if err != nil {
					t.Errorf("Put: %v; want nil or ErrClosed", err)
					return
				}
				acked.Add(1)
			}
		})
	}
	time.Sleep(50 * time.Millisecond)
	if err := store.CheckSnapshot(s); err != nil {
		t.Errorf("snapshot under load: %v", err)
	}
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("writers still blocked 10s after Close")
	}
	if err := <-closed; err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v; want nil", err)
	}
	t.Logf("%d puts acknowledged before Close", acked.Load())
}

func TestStore_closed(t *testing.T) {
	s, _ := openTestStore(t, nil)
	mustPut(t, s, "k", "v", rw)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	checks := map[string]error{}
	_, checks["Put"] = s.Put(ctx, "k", []byte("v"), rw)
	_, checks["Delete"] = s.Delete(ctx, "k", true)
	_, checks["DeleteSlot"] = s.DeleteSlot(ctx, 1)
	_, _, checks["Get"] = s.Get("k")
	_, _, checks["Stat"] = s.Stat("k")
	checks["View"] = s.View(func(*store.ReadTx) error { return nil })
	checks["ScanSlot"] = s.ScanSlot(0, func(string, []byte, store.Perm, uint64) error { return nil })
	for name, err := range checks {
		if !errors.Is(err, store.ErrClosed) {
			t.Errorf("%s after Close = %v; want ErrClosed", name, err)
		}
	}
	if st := s.Stats(); st.Keys != 1 || st.Offset != 1 {
		t.Errorf("Stats after Close: Keys=%d Offset=%d; want 1, 1", st.Keys, st.Offset)
	}
}

func TestStore_Close_noGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := store.Open(filepath.Join(t.TempDir(), "s.db"), testOptions(t))
	if err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k", "v", rw)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := runtime.NumGoroutine(); got > before {
		buf := make([]byte, 1<<16)
		t.Errorf("%d goroutines after Close; want <= %d\n%s", got, before, buf[:runtime.Stack(buf, true)])
	}
}
