package store

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/lambdakv/lambdakv/slots"
)

// The replication log. Every write that takes an offset also appends an
// entry to bucket "log" in the same transaction: key = offset (8 bytes,
// big-endian), value = kind (1 byte) || bbolt key of the written key, or
// kind || slot (2 bytes) for a dropped slot. Entries hold no values: a
// master reads the current value when it ships an entry, so the log stays
// small (a replica may receive a newer value early, never an older one, and
// the later entries for that key follow anyway). The oldest entries are
// pruned beyond Options.LogEntries.
//
// History: the offsets of a store belong to a history id, kept in "meta".
// A replica takes its master's id as it applies the master's log. A
// promoted replica starts a new id and remembers the old one and the last
// offset it shares with it, so that the other replicas, and the old master
// if it had nothing more, can go on from their offsets instead of taking a
// full copy.

var (
	bucketLog = []byte("log")

	metaHistory     = []byte("history")      // current history id
	metaPrevHistory = []byte("prev_history") // the history the current one continued
	metaPrevOffset  = []byte("prev_offset")  // last offset shared with prev_history
	metaSyncing     = []byte("syncing")      // set while a full copy is loading
)

// Log entry kinds, as on the wire (peer/wire Entry kinds).
const (
	EntryPut      uint8 = 1
	EntryDelete   uint8 = 2
	EntryDropSlot uint8 = 3
)

// ErrLogGap means the log no longer holds the entries after an offset
// (they were pruned, or the offset is from another history): the replica
// needs a full copy.
var ErrLogGap = errors.New("store: the log does not reach back to that offset")

// LogEntry is one write of the log. For EntryPut, Value and Perm are the
// key's current value and permission; Value is a copy.
type LogEntry struct {
	Offset uint64
	Kind   uint8
	Key    string
	Slot   uint16 // EntryDropSlot
	Value  []byte
	Perm   Perm
}

// Record is a stored key with its value, permission and the offset of its
// last write, as a snapshot carries it.
type Record struct {
	Key    string
	Value  []byte
	Perm   Perm
	Offset uint64
}

// History names the history a store's offsets belong to.
type History struct {
	ID         string // current history; empty while a full copy is being loaded
	PrevID     string // the history the current one continued, if any
	PrevOffset uint64 // the last offset shared with PrevID
}

// Continues reports whether a store at offset off of history id can take
// the log of h, which is at offset cur, from off on: off must be a point
// of h's own history or of the one it continued.
func (h History) Continues(id string, off, cur uint64) bool {
	switch {
	case id == "":
		return false
	case id == h.ID:
		return off <= cur
	case id == h.PrevID:
		return off <= h.PrevOffset
	}
	return false
}

// History returns the store's history as of the last commit.
func (s *Store) History() History { return s.pub.Load().hist }

// Changed returns a channel that is closed by the next commit that takes
// an offset (or changes the history).
func (s *Store) Changed() <-chan struct{} { return *s.changed.Load() }

func newHistoryID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func logKey(off uint64) []byte { return binary.BigEndian.AppendUint64(nil, off) }

// ReadLog returns the entries after offset after, with the current values
// of the keys they put, all read in one transaction, up to maxBytes of
// values (at least one entry), and the offset of the last write at that
// transaction. It returns ErrLogGap when the log no longer holds the entry
// after after.
func (s *Store) ReadLog(after uint64, maxBytes int) (entries []LogEntry, last uint64, err error) {
	err = s.db.View(func(tx *bolt.Tx) error {
		c, err := readCounters(tx.Bucket(bucketMeta))
		if err != nil {
			return err
		}
		last = c.offset
		if after >= last {
			return nil
		}
		data := tx.Bucket(bucketData)
		cur := tx.Bucket(bucketLog).Cursor()
		k, v := cur.Seek(logKey(after + 1))
		if k == nil || binary.BigEndian.Uint64(k) != after+1 {
			return ErrLogGap
		}
		size := 0
		for ; k != nil && (size < maxBytes || len(entries) == 0); k, v = cur.Next() {
			e, err := decodeLogEntry(binary.BigEndian.Uint64(k), v, data)
			if err != nil {
				return err
			}
			size += len(e.Value) + len(e.Key) + 16
			entries = append(entries, e)
		}
		return nil
	})
	return entries, last, err
}

// decodeLogEntry turns a log value into an entry, reading the current
// value of a put key from data. A put key that is gone since is shipped
// as a delete: the delete that removed it follows in the log.
func decodeLogEntry(off uint64, v []byte, data *bolt.Bucket) (LogEntry, error) {
	if len(v) < 1 {
		return LogEntry{}, fmt.Errorf("store: corrupt log entry %d", off)
	}
	e := LogEntry{Offset: off, Kind: v[0]}
	switch e.Kind {
	case EntryPut, EntryDelete:
		if len(v) < 1+slotPrefixLen {
			return LogEntry{}, fmt.Errorf("store: corrupt log entry %d", off)
		}
		e.Key = string(v[1+slotPrefixLen:])
		if e.Kind == EntryPut {
			rec := data.Get(v[1:])
			if rec == nil {
				e.Kind = EntryDelete
				break
			}
			r, err := decodeRecord(rec)
			if err != nil {
				return LogEntry{}, err
			}
			e.Value, e.Perm = bytesClone(r.value), r.perm
		}
	case EntryDropSlot:
		if len(v) != 3 {
			return LogEntry{}, fmt.Errorf("store: corrupt log entry %d", off)
		}
		e.Slot = binary.BigEndian.Uint16(v[1:])
	default:
		return LogEntry{}, fmt.Errorf("store: log entry %d: unknown kind %d", off, e.Kind)
	}
	return e, nil
}

// ScanAfter returns the records that follow the key after in the store's
// order (slot, then key; "" starts at the beginning), up to maxBytes of
// values (at least one record), and whether more follow. Each call is its
// own transaction: pages of a full copy are not one snapshot, which the
// log entries from the copy's starting offset on make good.
func (s *Store) ScanAfter(after string, maxBytes int) (recs []Record, more bool, err error) {
	err = s.View(func(rtx *ReadTx) error {
		c := rtx.data.Cursor()
		var k, v []byte
		if after == "" {
			k, v = c.First()
		} else {
			start := dbKey(after)
			k, v = c.Seek(start)
			if k != nil && string(k) == string(start) {
				k, v = c.Next()
			}
		}
		size := 0
		for ; k != nil; k, v = c.Next() {
			if size >= maxBytes && len(recs) > 0 {
				more = true
				return nil
			}
			r, err := decodeRecord(v)
			if err != nil {
				return err
			}
			recs = append(recs, Record{Key: string(k[slotPrefixLen:]), Value: bytesClone(r.value), Perm: r.perm, Offset: r.offset})
			size += len(r.value) + len(k)
		}
		return nil
	})
	return recs, more, err
}

// Apply writes entries of a master's log, in order, as they are: no
// permission rule applies (the master checked them), and the store's
// offset becomes the last entry's. Entries at or below the current offset
// are skipped. Either every entry is applied or, if one is malformed,
// none.
func (s *Store) Apply(ctx context.Context, entries []LogEntry) error {
	for _, e := range entries {
		if err := checkEntry(e); err != nil {
			return err
		}
	}
	if len(entries) == 0 {
		return nil
	}
	if err := s.admit(ctx); err != nil {
		return err
	}
	return s.submit(ctx, &op{kind: opApply, entries: entries}).err
}

func checkEntry(e LogEntry) error {
	switch e.Kind {
	case EntryPut:
		if err := e.Perm.Validate(); err != nil {
			return fmt.Errorf("log entry %d: %w", e.Offset, err)
		}
		fallthrough
	case EntryDelete:
		if err := ValidateKey(e.Key); err != nil {
			return fmt.Errorf("log entry %d: %w", e.Offset, err)
		}
	case EntryDropSlot:
		if e.Slot >= slots.NumSlots {
			return fmt.Errorf("log entry %d: slot %d out of range", e.Offset, e.Slot)
		}
	default:
		return fmt.Errorf("log entry %d: unknown kind %d", e.Offset, e.Kind)
	}
	if e.Offset == 0 {
		return fmt.Errorf("log entry with offset 0")
	}
	return nil
}

// Reset removes every key and the whole log and clears the history, for
// a replica about to load a full copy. Until SetHistory, the store names
// no history, so a restart in between asks for a full copy again.
func (s *Store) Reset(ctx context.Context) error {
	if err := s.admit(ctx); err != nil {
		return err
	}
	return s.submit(ctx, &op{kind: opReset}).err
}

// Load writes records of a full copy as they are, without offsets of
// their own or log entries.
func (s *Store) Load(ctx context.Context, recs []Record) error {
	entries := make([]LogEntry, len(recs))
	for i, r := range recs {
		entries[i] = LogEntry{Offset: r.Offset, Kind: EntryPut, Key: r.Key, Value: r.Value, Perm: r.Perm}
		if err := checkEntry(entries[i]); err != nil && r.Offset != 0 {
			return err
		}
	}
	if err := s.admit(ctx); err != nil {
		return err
	}
	return s.submit(ctx, &op{kind: opLoad, entries: entries}).err
}

// SetHistory sets the store's history and offset: after a full copy
// taken at offset off of h.ID, or when a replica follows a master that
// continued its history (then off is the store's own offset).
func (s *Store) SetHistory(ctx context.Context, h History, off uint64) error {
	if err := s.admit(ctx); err != nil {
		return err
	}
	return s.submit(ctx, &op{kind: opSetHistory, hist: h, histOffset: off}).err
}

// NewHistory starts a new history at the current offset, continuing the
// current one: a replica does it when it becomes a master.
func (s *Store) NewHistory(ctx context.Context) (History, error) {
	if err := s.admit(ctx); err != nil {
		return History{}, err
	}
	r := s.submit(ctx, &op{kind: opNewHistory})
	return s.History(), r.err
}

// apply methods of the writer for the replication ops.

func (w *writer) logWrite(kind uint8, key []byte) error {
	v := make([]byte, 0, 1+len(key))
	v = append(append(v, kind), key...)
	if err := w.log.Put(logKey(w.c.offset), v); err != nil {
		return fmt.Errorf("store: log: %w", err)
	}
	return nil
}

func (w *writer) applyEntries(entries []LogEntry, load bool) (result, error) {
	for _, e := range entries {
		if !load && e.Offset <= w.c.offset {
			continue
		}
		var key []byte
		switch e.Kind {
		case EntryPut:
			key = dbKey(e.Key)
			rec := newRecord(e.Value, e.Perm)
			setOffset(rec, e.Offset)
			if old := w.data.Get(key); old != nil {
				w.c.keys--
				w.c.bytes -= int64(max(len(old)-recordHeaderLen, 0))
			}
			if err := w.data.Put(key, rec); err != nil {
				return result{}, fmt.Errorf("store: apply: %w", err)
			}
			w.c.keys++
			w.c.bytes += int64(len(e.Value))
		case EntryDelete:
			key = dbKey(e.Key)
			if old := w.data.Get(key); old != nil {
				size := int64(max(len(old)-recordHeaderLen, 0))
				if err := w.data.Delete(key); err != nil {
					return result{}, fmt.Errorf("store: apply: %w", err)
				}
				w.c.keys--
				w.c.bytes -= size
			}
		case EntryDropSlot:
			if err := w.dropSlot(e.Slot); err != nil {
				return result{}, err
			}
			key = slotPrefix(e.Slot)
		}
		w.dirty = true
		w.ops++
		if load {
			continue
		}
		w.c.offset = e.Offset
		if err := w.logWrite(e.Kind, key); err != nil {
			return result{}, err
		}
	}
	return result{offset: w.c.offset}, nil
}

func (w *writer) reset(tx *bolt.Tx) (result, error) {
	for _, name := range [][]byte{bucketData, bucketLog} {
		if err := tx.DeleteBucket(name); err != nil {
			return result{}, fmt.Errorf("store: reset: %w", err)
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return result{}, fmt.Errorf("store: reset: %w", err)
		}
	}
	w.data, w.log = tx.Bucket(bucketData), tx.Bucket(bucketLog)
	w.c = counters{}
	w.dirty = true
	return result{}, nil
}

// pruneLog drops the oldest entries beyond keep, at most limit of them, so
// that one commit's share of the work stays small.
func (w *writer) pruneLog(keep uint64, limit int) error {
	if w.c.offset <= keep {
		return nil
	}
	below := w.c.offset - keep // entries up to this offset may go
	c := w.log.Cursor()
	for k, _ := c.First(); k != nil && limit > 0 && binary.BigEndian.Uint64(k) <= below; k, _ = c.First() {
		if err := c.Delete(); err != nil {
			return fmt.Errorf("store: prune log: %w", err)
		}
		limit--
	}
	return nil
}

func readHistory(meta *bolt.Bucket) History {
	h := History{ID: string(meta.Get(metaHistory)), PrevID: string(meta.Get(metaPrevHistory))}
	if v := meta.Get(metaPrevOffset); len(v) == 8 {
		h.PrevOffset = binary.BigEndian.Uint64(v)
	}
	return h
}

func writeHistory(meta *bolt.Bucket, h History) error {
	return errors.Join(
		meta.Put(metaHistory, []byte(h.ID)),
		meta.Put(metaPrevHistory, []byte(h.PrevID)),
		meta.Put(metaPrevOffset, binary.BigEndian.AppendUint64(nil, h.PrevOffset)))
}
