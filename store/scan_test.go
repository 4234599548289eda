package store_test

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/lambdakv/lambdakv/slots"
	"github.com/lambdakv/lambdakv/store"
)

// fillSlots stores keys on slot {a} and on a few other slots, including the
// neighbours of {a}'s slot, and returns the {a} keys.
func fillSlots(t *testing.T, s *store.Store) (slot uint16, inSlot []string) {
	t.Helper()
	slot = slots.KeySlot("{a}")
	for i := range 30 {
		key := fmt.Sprintf("{a}%c%d", 'x'+i%3, i)
		perm := []store.Perm{r, rw, rx}[i%3] // immutable keys too
		mustPut(t, s, key, key+"-value", perm)
		inSlot = append(inSlot, key)
	}
	others := 0
	for i := 0; others < 160; i++ {
		key := fmt.Sprintf("other-%d", i)
		if ks := slots.KeySlot(key); ks == slot {
			continue
		} else if ks == slot-1 || ks == slot+1 || i < 150 {
			mustPut(t, s, key, "o", r)
			others++
		}
	}
	slices.Sort(inSlot)
	return slot, inSlot
}

func TestStore_ScanSlot(t *testing.T) {
	s, _ := openTestStore(t, nil)
	slot, want := fillSlots(t, s)
	offsets := map[string]uint64{}
	var got []string
	err := s.ScanSlot(slot, func(key string, value []byte, perm store.Perm, off uint64) error {
		got = append(got, key)
		if string(value) != key+"-value" {
			t.Errorf("ScanSlot %s value=%q; want %q", key, value, key+"-value")
		}
		if perm&store.PermR == 0 || off == 0 {
			t.Errorf("ScanSlot %s perm=%v offset=%d; want a readable record with an offset", key, perm, off)
		}
		offsets[key] = off
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, want) {
		t.Errorf("ScanSlot keys=%v; want %v (sorted)", got, want)
	}
	if len(offsets) != len(want) {
		t.Errorf("distinct keys %d; want %d", len(offsets), len(want))
	}
}

func TestStore_ScanSlot_neighbours(t *testing.T) {
	s, _ := openTestStore(t, nil)
	slot, _ := fillSlots(t, s)
	total := 0
	for _, sl := range []uint16{slot - 1, slot + 1, 0, slots.NumSlots - 1} {
		err := s.ScanSlot(sl, func(k string, _ []byte, _ store.Perm, _ uint64) error {
			if slots.KeySlot(k) != sl {
				t.Errorf("ScanSlot(%d) returned %q of slot %d", sl, k, slots.KeySlot(k))
			}
			total++
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	if total < 10 {
		t.Errorf("neighbour slots hold %d keys; want >= 10 (fillSlots puts them there)", total)
	}
}

func TestStore_ScanSlot_stops(t *testing.T) {
	s, _ := openTestStore(t, nil)
	slot, _ := fillSlots(t, s)
	stop := errors.New("stop")
	calls := 0
	err := s.ScanSlot(slot, func(string, []byte, store.Perm, uint64) error {
		calls++
		if calls == 3 {
			return stop
		}
		return nil
	})
	if err != stop || calls != 3 {
		t.Errorf("ScanSlot = %v after %d calls; want fn's error after 3", err, calls)
	}
}

func TestStore_DeleteSlot(t *testing.T) {
	s, path := openTestStore(t, nil)
	slot, inSlot := fillSlots(t, s)
	before := s.Stats()
	n, err := s.DeleteSlot(ctx, slot)
	if err != nil || n != len(inSlot) {
		t.Fatalf("DeleteSlot = %d, %v; want %d, nil", n, err, len(inSlot))
	}
	for _, k := range inSlot {
		if _, _, err := s.Get(k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("Get(%s) after DeleteSlot: %v; want ErrNotFound", k, err)
		}
	}
	wantValue(t, s, "other-0", "o", r)
	after := s.Stats()
	var slotBytes int64
	for _, k := range inSlot {
		slotBytes += int64(len(k + "-value"))
	}
	if after.Keys != before.Keys-int64(n) || after.Bytes != before.Bytes-slotBytes {
		t.Errorf("Stats after DeleteSlot Keys=%d Bytes=%d; want %d, %d", after.Keys, after.Bytes, before.Keys-int64(n), before.Bytes-slotBytes)
	}
	if after.Offset != before.Offset+1 {
		t.Errorf("DeleteSlot moved Offset %d -> %d; want one step (replicas must drop the slot too)", before.Offset, after.Offset)
	}
	if n, err := s.DeleteSlot(ctx, slot); n != 0 || err != nil {
		t.Errorf("second DeleteSlot = %d, %v; want 0, nil", n, err)
	}
	if _, err := s.DeleteSlot(ctx, slots.NumSlots); err == nil {
		t.Errorf("DeleteSlot(%d) succeeded; want an out-of-range error", slots.NumSlots)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, testOptions(t))
	if st := s.Stats(); st.Keys != after.Keys || st.Bytes != after.Bytes {
		t.Errorf("after reopen Keys=%d Bytes=%d; want %d, %d", st.Keys, st.Bytes, after.Keys, after.Bytes)
	}
}
