package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lambdakv/lambdakv/slots"
	"github.com/lambdakv/lambdakv/store"
)

// contents reads every record of s in order.
func contents(t *testing.T, s *store.Store) []store.Record {
	t.Helper()
	var all []store.Record
	after := ""
	for {
		recs, more, err := s.ScanAfter(after, 64)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, recs...)
		if !more {
			return all
		}
		after = recs[len(recs)-1].Key
	}
}

func sameContents(t *testing.T, a, b *store.Store) {
	t.Helper()
	ra, rb := contents(t, a), contents(t, b)
	if len(ra) != len(rb) {
		t.Fatalf("%d keys vs %d", len(ra), len(rb))
	}
	for i := range ra {
		x, y := ra[i], rb[i]
		if x.Key != y.Key || !bytes.Equal(x.Value, y.Value) || x.Perm != y.Perm {
			t.Fatalf("record %d: %q=%q (%s) vs %q=%q (%s)", i, x.Key, x.Value, x.Perm, y.Key, y.Value, y.Perm)
		}
	}
	sa, sb := a.Stats(), b.Stats()
	if sa.Keys != sb.Keys || sa.Bytes != sb.Bytes {
		t.Fatalf("stats %d keys %d bytes vs %d keys %d bytes", sa.Keys, sa.Bytes, sb.Keys, sb.Bytes)
	}
}

// follow brings replica up to master through the log, as a replica's
// stream would, in pages of at most page bytes.
func follow(t *testing.T, master, replica *store.Store, page int) error {
	t.Helper()
	for {
		entries, last, err := master.ReadLog(replica.Offset(), page)
		if err != nil {
			return err
		}
		if err := replica.Apply(context.Background(), entries); err != nil {
			t.Fatal(err)
		}
		if replica.Offset() >= last {
			return nil
		}
	}
}

// writeMix applies puts, overwrites, deletes, an immutable key, a PutMany
// and a dropped slot.
func writeMix(t *testing.T, s *store.Store, round int) {
	t.Helper()
	ctx := context.Background()
	for i := range 50 {
		k := fmt.Sprintf("k%d-%d", round, i)
		if _, err := s.Put(ctx, k, []byte(k+"-v"), store.PermR|store.PermW); err != nil {
			t.Fatal(err)
		}
		if i%3 == 0 {
			if _, err := s.Put(ctx, k, []byte("second"), store.PermR|store.PermW); err != nil {
				t.Fatal(err)
			}
		}
		if i%7 == 0 {
			if _, err := s.Delete(ctx, k, false); err != nil {
				t.Fatal(err)
			}
		}
	}
	if _, err := s.Put(ctx, fmt.Sprintf("imm%d", round), []byte("x"), store.PermR|store.PermX); err != nil {
		t.Fatal(err)
	}
	items := []store.Item{{Key: fmt.Sprintf("{m%d}a", round), Value: []byte("a"), Perm: store.PermR | store.PermW}, {Key: fmt.Sprintf("{m%d}b", round), Value: []byte{}, Perm: store.PermR}}
	if _, err := s.PutMany(ctx, items); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteSlot(ctx, slots.KeySlot(fmt.Sprintf("{m%d}a", round))); err != nil {
		t.Fatal(err)
	}
}

func TestReplication_logBringsReplicaToMaster(t *testing.T) {
	master, _ := openTestStore(t, nil)
	replica, _ := openTestStore(t, nil)
	writeMix(t, master, 0)
	if err := follow(t, master, replica, 100); err != nil {
		t.Fatal(err)
	}
	sameContents(t, master, replica)
	if replica.Offset() != master.Offset() {
		t.Fatalf("replica at %d, master at %d", replica.Offset(), master.Offset())
	}
	// Again from where it stopped, and re-applying old entries is a no-op.
	old, _, err := master.ReadLog(0, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	writeMix(t, master, 1)
	if err := follow(t, master, replica, 1<<20); err != nil {
		t.Fatal(err)
	}
	if err := replica.Apply(context.Background(), old); err != nil {
		t.Fatal(err)
	}
	sameContents(t, master, replica)
}

func TestReplication_gapMeansFullCopy(t *testing.T) {
	opts := testOptions(t)
	opts.LogEntries = 20
	master, _ := openTestStore(t, opts)
	replica, _ := openTestStore(t, nil)
	// Something the full copy must remove.
	if _, err := replica.Put(context.Background(), "stale", []byte("x"), store.PermR|store.PermW); err != nil {
		t.Fatal(err)
	}
	writeMix(t, master, 0)
	if _, _, err := master.ReadLog(0, 1<<20); !errors.Is(err, store.ErrLogGap) {
		t.Fatalf("ReadLog(0) after pruning: %v; want ErrLogGap", err)
	}
	// A full copy: reset, pages, then the history and offset of the start.
	ctx := context.Background()
	start, hist := master.Offset(), master.History()
	if err := replica.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if h := replica.History(); h.ID != "" {
		t.Fatalf("history during a full copy = %+v; want none", h)
	}
	// Writes while the copy runs are made good by the log after start.
	after := ""
	for page := 0; ; page++ {
		recs, more, err := master.ScanAfter(after, 100)
		if err != nil {
			t.Fatal(err)
		}
		if err := replica.Load(ctx, recs); err != nil {
			t.Fatal(err)
		}
		if page == 1 {
			for i := range 5 {
				k := fmt.Sprintf("k0-%d", i)
				if _, err := master.Put(ctx, k, []byte("during the copy"), store.PermR|store.PermW); err != nil {
					t.Fatal(err)
				}
				if _, err := master.Delete(ctx, fmt.Sprintf("k0-%d", 40+i), false); err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Fatal(err)
				}
			}
		}
		if !more {
			break
		}
		after = recs[len(recs)-1].Key
	}
	if err := replica.SetHistory(ctx, hist, start); err != nil {
		t.Fatal(err)
	}
	if err := follow(t, master, replica, 1<<20); err != nil {
		t.Fatal(err)
	}
	sameContents(t, master, replica)
}

func TestReplication_history(t *testing.T) {
	ctx := context.Background()
	s, path := openTestStore(t, nil)
	h0 := s.History()
	if h0.ID == "" {
		t.Fatal("a new store has no history id")
	}
	writeMix(t, s, 0)
	at := s.Offset()
	h1, err := s.NewHistory(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if h1.ID == h0.ID || h1.PrevID != h0.ID || h1.PrevOffset != at {
		t.Fatalf("NewHistory = %+v from %+v at %d", h1, h0, at)
	}
	writeMix(t, s, 1)
	cur := s.Offset()
	tests := []struct {
		id   string
		off  uint64
		want bool
	}{
		{h1.ID, cur, true},
		{h1.ID, cur + 1, false}, // ahead: a diverged history
		{h0.ID, at, true},
		{h0.ID, at - 5, true},
		{h0.ID, at + 1, false}, // writes the new history does not have
		{"other", 1, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		if got := h1.Continues(tt.id, tt.off, cur); got != tt.want {
			t.Errorf("Continues(%q, %d) = %v; want %v", tt.id, tt.off, got, tt.want)
		}
	}
	// Kept across a restart; a store that was loading a full copy comes
	// back with no history, so that it asks for a full copy again.
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, testOptions(t))
	if h := s.History(); h != h1 {
		t.Fatalf("history after reopening = %+v; want %+v", h, h1)
	}
	if err := s.Reset(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, testOptions(t))
	if h := s.History(); h.ID != "" {
		t.Fatalf("history of an unfinished copy after reopening = %+v; want none", h)
	}
}

func TestReplication_applyRefusesMalformedEntries(t *testing.T) {
	s, _ := openTestStore(t, nil)
	good := store.LogEntry{Offset: 1, Kind: store.EntryPut, Key: "a", Value: []byte("v"), Perm: store.PermR | store.PermW}
	bad := []store.LogEntry{
		{Offset: 2, Kind: 9, Key: "b"},
		{Offset: 2, Kind: store.EntryPut, Key: "", Perm: store.PermR | store.PermW},
		{Offset: 2, Kind: store.EntryPut, Key: "b", Perm: store.PermW},
		{Offset: 2, Kind: store.EntryDropSlot, Slot: slots.NumSlots},
		{Offset: 0, Kind: store.EntryDelete, Key: "b"},
	}
	for _, b := range bad {
		if err := s.Apply(context.Background(), []store.LogEntry{good, b}); err == nil {
			t.Errorf("Apply(%+v) succeeded", b)
		}
	}
	if s.Offset() != 0 || s.Stats().Keys != 0 {
		t.Fatalf("a refused Apply wrote: offset %d, %d keys", s.Offset(), s.Stats().Keys)
	}
}

func TestReplication_changedSignalsCommits(t *testing.T) {
	s, _ := openTestStore(t, nil)
	ch := s.Changed()
	select {
	case <-ch:
		t.Fatal("Changed closed before any write")
	default:
	}
	if _, err := s.Put(context.Background(), "k", []byte("v"), store.PermR|store.PermW); err != nil {
		t.Fatal(err)
	}
	select {
	case <-ch:
	default:
		t.Fatal("Changed not closed by a commit")
	}
}
