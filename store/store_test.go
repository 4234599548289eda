package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lambdakv/lambdakv/store"
)

const (
	r   = store.PermR
	rw  = store.PermR | store.PermW
	rx  = store.PermR | store.PermX
	rwx = store.PermR | store.PermW | store.PermX
)

var ctx = context.Background()

func mustPut(t testing.TB, s *store.Store, key, value string, perm store.Perm) uint64 {
	t.Helper()
	off, err := s.Put(ctx, key, []byte(value), perm)
	if err != nil {
		t.Fatalf("Put(%q, %q, %v): %v", key, value, perm, err)
	}
	return off
}

func wantValue(t testing.TB, s *store.Store, key, value string, perm store.Perm) {
	t.Helper()
	got, gotPerm, err := s.Get(key)
	if err != nil || string(got) != value || gotPerm != perm {
		t.Errorf("Get(%q) = %q, %v, %v; want %q, %v, nil", key, got, gotPerm, err, value, perm)
	}
}

func TestStore_Put_perm(t *testing.T) {
	s, _ := openTestStore(t, nil)
	tests := []struct {
		perm store.Perm
		want error
	}{
		{r, nil},
		{rw, nil},
		{rx, nil},
		{rwx, nil},
		{0, store.ErrPermRequired},
		{store.PermW, store.ErrPermRequired},
		{store.PermX, store.ErrPermRequired},
		{store.PermW | store.PermX, store.ErrPermRequired},
		{8, store.ErrBadPerm},
		{r | 0x80, store.ErrBadPerm},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("perm=%#x", uint8(tt.perm)), func(t *testing.T) {
			key := fmt.Sprintf("k%d", tt.perm)
			_, err := s.Put(ctx, key, []byte("v"), tt.perm)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Put perm %v = %v; want %v", tt.perm, err, tt.want)
			}
			if tt.want == nil {
				wantValue(t, s, key, "v", tt.perm)
			} else if _, _, err := s.Get(key); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get after refused put: err=%v; want ErrNotFound", err)
			}
		})
	}
}

func TestStore_Put_immutableRepeat(t *testing.T) {
	for _, perm := range []store.Perm{r, rx} {
		t.Run(perm.String(), func(t *testing.T) {
			s, _ := openTestStore(t, nil)
			off := mustPut(t, s, "k", "v", perm)
			mustPut(t, s, "other", "x", rw)
			if got := mustPut(t, s, "k", "v", perm); got != off {
				t.Errorf("repeat put offset=%d; want the existing record's %d", got, off)
			}
			if got := s.Offset(); got != off+1 {
				t.Errorf("Offset()=%d after repeat; want %d (no new write)", got, off+1)
			}
			if got := s.Stats().Unchanged; got != 1 {
				t.Errorf("Stats().Unchanged=%d; want 1", got)
			}
			wantValue(t, s, "k", "v", perm)
		})
	}
}

func TestStore_Put_immutableDiffers(t *testing.T) {
	tests := []struct {
		name  string
		value string
		perm  store.Perm
	}{
		{"other value", "w", r},
		{"longer value", "vv", r},
		{"empty value", "", r},
		{"add x", "v", rx},
		{"add w", "v", rw},
		{"add wx", "v", rwx},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTestStore(t, nil)
			off := mustPut(t, s, "k", "v", r)
			if _, err := s.Put(ctx, "k", []byte(tt.value), tt.perm); !errors.Is(err, store.ErrReadOnly) {
				t.Errorf("Put over immutable = %v; want ErrReadOnly", err)
			}
			wantValue(t, s, "k", "v", r)
			if got := s.Offset(); got != off {
				t.Errorf("Offset()=%d; want %d", got, off)
			}
		})
	}
}

func TestStore_Put_mutableReplaces(t *testing.T) {
	s, _ := openTestStore(t, nil)
	o1 := mustPut(t, s, "k", "a", rw)
	o2 := mustPut(t, s, "k", "a", rw) // same value: still a write
	o3 := mustPut(t, s, "k", "bb", rwx)
	wantValue(t, s, "k", "bb", rwx)
	o4 := mustPut(t, s, "k", "c", r) // a mutable key may become immutable
	if o2 != o1+1 || o3 != o2+1 || o4 != o3+1 {
		t.Errorf("offsets %d %d %d %d; want consecutive", o1, o2, o3, o4)
	}
	if _, err := s.Put(ctx, "k", []byte("d"), rw); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("Put over now-immutable key = %v; want ErrReadOnly", err)
	}
	wantValue(t, s, "k", "c", r)
	if st := s.Stats(); st.Keys != 1 || st.Bytes != 1 {
		t.Errorf("Stats Keys=%d Bytes=%d; want 1, 1", st.Keys, st.Bytes)
	}
}

func TestStore_Put_badKey(t *testing.T) {
	s, _ := openTestStore(t, nil)
	for _, key := range []string{"", "a\x00", strings.Repeat("k", store.MaxKeyLen+1)} {
		if _, err := s.Put(ctx, key, []byte("v"), r); !errors.Is(err, store.ErrBadKey) {
			t.Errorf("Put(key of %d bytes) = %v; want ErrBadKey", len(key), err)
		}
		if _, err := s.Delete(ctx, key, true); !errors.Is(err, store.ErrBadKey) {
			t.Errorf("Delete(key of %d bytes) = %v; want ErrBadKey", len(key), err)
		}
	}
	long := strings.Repeat("k", store.MaxKeyLen)
	mustPut(t, s, long, "v", r)
	wantValue(t, s, long, "v", r)
}

func TestStore_Put_valueTooLarge(t *testing.T) {
	o := testOptions(t)
	o.MaxValueSize = 1024
	s, _ := openTestStore(t, o)
	if _, err := s.Put(ctx, "k", make([]byte, 1025), rw); !errors.Is(err, store.ErrValueTooLarge) {
		t.Errorf("Put 1025 bytes = %v; want ErrValueTooLarge", err)
	}
	mustPut(t, s, "k", strings.Repeat("v", 1024), rw)
}

func TestStore_Put_emptyValue(t *testing.T) {
	s, _ := openTestStore(t, nil)
	mustPut(t, s, "k", "", r)
	got, _, err := s.Get("k")
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("Get = %v (nil=%t), %v; want an empty non-nil value", got, got == nil, err)
	}
	mustPut(t, s, "k", "", r) // repeat of an empty immutable value
}

func TestStore_Put_largeValue(t *testing.T) {
	if testing.Short() {
		t.Skip("64 MiB value")
	}
	o := testOptions(t)
	o.Sync = store.SyncAlways
	s, path := openTestStore(t, o)
	big := make([]byte, 64<<20+123)
	rand.NewChaCha8([32]byte{1}).Read(big)
	mustPut(t, s, "big", string(big[:10]), rw) // replaced below
	if _, err := s.Put(ctx, "big", big, r); err != nil {
		t.Fatalf("Put 64 MiB: %v", err)
	}
	check := func(s *store.Store) {
		got, perm, err := s.Get("big")
		if err != nil || perm != r || !bytes.Equal(got, big) {
			t.Fatalf("Get 64 MiB: len=%d perm=%v err=%v; want len=%d r-- nil", len(got), perm, err, len(big))
		}
		if size, _, _ := s.Stat("big"); size != int64(len(big)) {
			t.Errorf("Stat size=%d; want %d", size, len(big))
		}
	}
	check(s)
	if _, err := s.Put(ctx, "big", big, r); err != nil { // repeat compares 64 MiB
		t.Errorf("repeat Put 64 MiB: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(mustOpen(t, path, o))
}

func TestStore_Delete(t *testing.T) {
	tests := []struct {
		name  string
		perm  store.Perm // 0: key absent
		force bool
		want  error
	}{
		{"missing", 0, false, store.ErrNotFound},
		{"missing force", 0, true, store.ErrNotFound},
		{"mutable", rw, false, nil},
		{"mutable force", rwx, true, nil},
		{"immutable", r, false, store.ErrReadOnly},
		{"immutable exec", rx, false, store.ErrReadOnly},
		{"immutable force", r, true, nil},
		{"immutable exec force", rx, true, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := openTestStore(t, nil)
			if tt.perm != 0 {
				mustPut(t, s, "k", "v", tt.perm)
			}
			before := s.Offset()
			off, err := s.Delete(ctx, "k", tt.force)
			if !errors.Is(err, tt.want) || (tt.want == nil) != (err == nil) {
				t.Fatalf("Delete = %d, %v; want %v", off, err, tt.want)
			}
			if err != nil {
				if s.Offset() != before {
					t.Errorf("Offset moved to %d on a refused delete; want %d", s.Offset(), before)
				}
				if tt.perm != 0 {
					wantValue(t, s, "k", "v", tt.perm)
				}
				return
			}
			if off != before+1 || s.Offset() != off {
				t.Errorf("Delete offset=%d Offset()=%d; want %d", off, s.Offset(), before+1)
			}
			if _, _, err := s.Get("k"); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("Get after delete: %v; want ErrNotFound", err)
			}
			if st := s.Stats(); st.Keys != 0 || st.Bytes != 0 {
				t.Errorf("Stats Keys=%d Bytes=%d; want 0, 0", st.Keys, st.Bytes)
			}
		})
	}
}

func TestStore_Delete_thenPutImmutable(t *testing.T) {
	s, _ := openTestStore(t, nil)
	mustPut(t, s, "k", "old", r)
	if _, err := s.Delete(ctx, "k", true); err != nil {
		t.Fatal(err)
	}
	mustPut(t, s, "k", "new", r)
	wantValue(t, s, "k", "new", r)
}

func TestStore_Offset_durable(t *testing.T) {
	o := testOptions(t)
	o.Sync = store.SyncAlways
	s, path := openTestStore(t, o)
	var last uint64
	want := map[string]uint64{}
	for i := range 50 {
		key := fmt.Sprintf("k%d", i%20)
		var off uint64
		var err error
		if i%7 == 6 {
			key = fmt.Sprintf("k%d", (i-1)%20) // put by the previous op
			off, err = s.Delete(ctx, key, false)
			delete(want, key)
		} else {
			off, err = s.Put(ctx, key, []byte{byte(i)}, rw)
			want[key] = off
		}
		if err != nil {
			t.Fatalf("op %d: %v", i, err)
		}
		if off != last+1 {
			t.Fatalf("op %d offset=%d; want %d", i, off, last+1)
		}
		last = off
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = mustOpen(t, path, o)
	if got := s.Offset(); got != last {
		t.Errorf("Offset() after reopen=%d; want %d", got, last)
	}
	got := recordOffsets(t, s)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("record offsets after reopen=%v; want %v", got, want)
	}
	if off := mustPut(t, s, "after", "v", r); off != last+1 {
		t.Errorf("first offset after reopen=%d; want %d", off, last+1)
	}
}

// recordOffsets returns every key's record offset, scanning all slots.
func recordOffsets(t testing.TB, s *store.Store) map[string]uint64 {
	t.Helper()
	m := map[string]uint64{}
	for slot := range uint16(16384) {
		err := s.ScanSlot(slot, func(key string, _ []byte, _ store.Perm, off uint64) error {
			m[key] = off
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	return m
}

func TestStore_Stats_afterReopen(t *testing.T) {
	s, path := openTestStore(t, nil)
	want := map[string]int{}
	for i := range 200 {
		key := fmt.Sprintf("key-%d", i%90)
		switch {
		case i%11 == 10:
			if _, err := s.Delete(ctx, key, false); err == nil {
				delete(want, key)
			} else if !errors.Is(err, store.ErrNotFound) {
				t.Fatal(err)
			}
		default:
			mustPut(t, s, key, strings.Repeat("v", i*37%5000), rw)
			want[key] = i * 37 % 5000
		}
	}
	wantBytes := int64(0)
	for _, n := range want {
		wantBytes += int64(n)
	}
	check := func(when string, s *store.Store) {
		st := s.Stats()
		if st.Keys != int64(len(want)) || st.Bytes != wantBytes {
			t.Errorf("%s: Keys=%d Bytes=%d; want %d, %d", when, st.Keys, st.Bytes, len(want), wantBytes)
		}
		if st.FileSize <= 0 {
			t.Errorf("%s: FileSize=%d; want > 0", when, st.FileSize)
		}
	}
	check("before reopen", s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("after reopen", mustOpen(t, path, testOptions(t)))
}

func TestStore_View(t *testing.T) {
	s, _ := openTestStore(t, nil)
	mustPut(t, s, "a", "1", r)
	mustPut(t, s, "b", "22", rwx)
	err := s.View(func(tx *store.ReadTx) error {
		for _, tt := range []struct {
			key, value string
			perm       store.Perm
		}{{"a", "1", r}, {"b", "22", rwx}} {
			v, p, err := tx.Get(tt.key)
			if err != nil || string(v) != tt.value || p != tt.perm {
				t.Errorf("tx.Get(%q) = %q, %v, %v; want %q, %v", tt.key, v, p, err, tt.value, tt.perm)
			}
			size, p, err := tx.Stat(tt.key)
			if err != nil || size != int64(len(tt.value)) || p != tt.perm {
				t.Errorf("tx.Stat(%q) = %d, %v, %v; want %d, %v", tt.key, size, p, err, len(tt.value), tt.perm)
			}
		}
		if _, _, err := tx.Get("missing"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("tx.Get(missing) = %v; want ErrNotFound", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sentinel := errors.New("stop")
	if err := s.View(func(*store.ReadTx) error { return sentinel }); err != sentinel {
		t.Errorf("View returned %v; want fn's error", err)
	}
}

func TestStore_Stat(t *testing.T) {
	s, _ := openTestStore(t, nil)
	mustPut(t, s, "k", "hello", rx)
	if size, p, err := s.Stat("k"); err != nil || size != 5 || p != rx {
		t.Errorf("Stat = %d, %v, %v; want 5, r-x, nil", size, p, err)
	}
	if _, _, err := s.Stat("nope"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Stat(missing) = %v; want ErrNotFound", err)
	}
}

func TestStore_Get_copies(t *testing.T) {
	s, _ := openTestStore(t, nil)
	val := []byte("abc")
	mustPut(t, s, "k", string(val), rw)
	got, _, _ := s.Get("k")
	got[0] = 'X'
	wantValue(t, s, "k", "abc", rw)
}

func TestStore_Put_callerReusesBuffer(t *testing.T) {
	s, _ := openTestStore(t, nil)
	buf := []byte("first")
	if _, err := s.Put(ctx, "k", buf, rw); err != nil {
		t.Fatal(err)
	}
	copy(buf, "XXXXX")
	wantValue(t, s, "k", "first", rw)
}

func TestStore_Open_createsParent(t *testing.T) {
	path := filepath.Join(t.TempDir(), "a", "b", "c.db")
	mustOpen(t, path, testOptions(t))
	if _, err := os.Stat(path); err != nil {
		t.Errorf("file not created: %v", err)
	}
}

func TestStore_Open_locked(t *testing.T) {
	o := testOptions(t)
	o.LockTimeout = 50e6 // 50ms
	_, path := openTestStore(t, o)
	if s, err := store.Open(path, o); err == nil {
		_ = s.Close()
		t.Fatal("second Open of a held file succeeded; want a lock timeout")
	}
}

func TestStore_Open_nilOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "s.db")
	s, err := store.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if err := s.Close(); err != nil {
			t.Error(err)
		}
	}()
	mustPut(t, s, "k", "v", r)
}

func TestReadTx_Info(t *testing.T) {
	s, _ := openTestStore(t, nil)
	off := mustPut(t, s, "k", "v1", rw)
	info := func() (string, store.Perm, uint64, error) {
		var v string
		var p store.Perm
		var o uint64
		err := s.View(func(tx *store.ReadTx) error {
			b, perm, off, err := tx.Info("k")
			v, p, o = string(b), perm, off
			return err
		})
		return v, p, o, err
	}
	if v, p, o, err := info(); v != "v1" || p != rw || o != off || err != nil {
		t.Errorf("Info = %q, %v, %d, %v; want v1, rw-, %d, nil", v, p, o, err, off)
	}
	off2 := mustPut(t, s, "k", "v1", rw)
	if _, _, o, _ := info(); o != off2 || off2 == off {
		t.Errorf("Info offset after rewrite=%d; want %d (a new write, a new offset)", o, off2)
	}
	if _, err := s.Delete(ctx, "k", false); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := info(); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("Info after delete: %v; want ErrNotFound", err)
	}
}

func TestStore_PutBuffer(t *testing.T) {
	s, _ := openTestStore(t, nil)
	ctx := context.Background()
	buf := append(make([]byte, store.HeaderRoom), "in place"...)
	off, err := s.PutBuffer(ctx, "k", buf, store.PermR)
	if err != nil {
		t.Fatalf("PutBuffer: %v", err)
	}
	v, perm, err := s.Get("k")
	if err != nil || string(v) != "in place" || perm != store.PermR {
		t.Errorf("Get = %q %v, %v; want in place r--", v, perm, err)
	}
	// The same rules as Put: an identical repeat of an immutable key is
	// fine, anything else is read-only.
	buf = append(make([]byte, store.HeaderRoom), "in place"...)
	if off2, err := s.PutBuffer(ctx, "k", buf, store.PermR); err != nil || off2 != off {
		t.Errorf("repeat = %d, %v; want %d, nil", off2, err, off)
	}
	buf = append(make([]byte, store.HeaderRoom), "other"...)
	if _, err := s.PutBuffer(ctx, "k", buf, store.PermR); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("overwrite = %v; want ErrReadOnly", err)
	}
	if _, err := s.PutBuffer(ctx, "k2", []byte{1, 2}, store.PermR); err == nil {
		t.Errorf("PutBuffer without header room succeeded")
	}
}

func TestStore_PutMany_allOrNothing(t *testing.T) {
	s, _ := openTestStore(t, nil)
	ctx := context.Background()
	if _, err := s.Put(ctx, "imm", []byte("v1"), store.PermR); err != nil {
		t.Fatal(err)
	}
	before := s.Offset()
	_, err := s.PutMany(ctx, []store.Item{
		{Key: "new1", Value: []byte("a"), Perm: store.PermR},
		{Key: "imm", Value: []byte("v2"), Perm: store.PermR},
		{Key: "new2", Value: []byte("b"), Perm: store.PermR | store.PermW},
	})
	if !errors.Is(err, store.ErrReadOnly) || !strings.Contains(err.Error(), `"imm"`) {
		t.Fatalf("PutMany with a conflict = %v; want ErrReadOnly naming imm", err)
	}
	for _, k := range []string{"new1", "new2"} {
		if _, _, err := s.Get(k); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s after a refused PutMany: %v; want not found", k, err)
		}
	}
	if s.Offset() != before {
		t.Errorf("offset moved from %d to %d on a refused PutMany", before, s.Offset())
	}
	off, err := s.PutMany(ctx, []store.Item{
		{Key: "new1", Value: []byte("a"), Perm: store.PermR},
		{Key: "imm", Value: []byte("v1"), Perm: store.PermR}, // identical repeat
		{Key: "new2", Value: []byte("b"), Perm: store.PermR | store.PermW},
	})
	if err != nil || off != before+2 {
		t.Fatalf("PutMany = %d, %v; want offset %d", off, err, before+2)
	}
	if v, _, _ := s.Get("new2"); string(v) != "b" {
		t.Errorf("new2 = %q; want b", v)
	}
	if _, err := s.PutMany(ctx, []store.Item{{Key: "d", Value: nil, Perm: store.PermR}, {Key: "d", Perm: store.PermR}}); !errors.Is(err, store.ErrBadKey) {
		t.Errorf("duplicate keys: %v; want ErrBadKey", err)
	}
}
