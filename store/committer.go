package store

import (
	"bytes"
	"context"
	"fmt"
	"runtime"

	bolt "go.etcd.io/bbolt"
)

// Group commit. One committer goroutine owns every write. A writer queues
// an op on s.ops and waits for its result; the committer takes one op,
// drains whatever else is queued (up to MaxBatchOps ops and MaxBatchBytes
// of values; see collect), applies them in queue order in ONE bbolt transaction, commits
// (one fsync pair for the whole batch under SyncAlways) and answers each op.
//
// Rule checks run inside that transaction and see the effect of the earlier
// ops of the same batch. Two puts of different values to one new immutable
// key k, queued by writers A and B:
//
//	A: ops <- put(k, "a", r)      B: ops <- put(k, "b", r)
//	committer: take A, drain B
//	  apply A: k absent        -> store "a", offset n+1
//	  apply B: k immutable "a" -> ErrReadOnly (nothing written)
//	commit; answer A (n+1, nil), B (0, ErrReadOnly)
//
// A rule failure answers only its own op. Only an error from bbolt itself
// (I/O, a full disk) rolls the transaction back, and then every op of the
// batch gets it. A batch that changed nothing (only rejections and repeats
// of immutable keys) is rolled back instead of committed: no fsync.

type opKind uint8

const (
	opPut opKind = iota
	opDelete
	opDeleteSlot
	opPutMany
	opApply      // replica: a master's log entries
	opLoad       // replica: records of a full copy
	opReset      // replica: drop everything before a full copy
	opSetHistory // replica: adopt a history and offset
	opNewHistory // promoted replica: start a new history
)

// op is one queued write. The committer sends exactly one result on done.
type op struct {
	ctx   context.Context
	kind  opKind
	key   []byte      // bbolt key (dbKey); nil for opDeleteSlot
	rec   []byte      // opPut: the record; the committer fills its offset in
	force bool        // opDelete: delete an immutable key too
	slot  uint16      // opDeleteSlot
	keys  [][]byte    // opPutMany: bbolt keys
	recs  [][]byte    // opPutMany: records, one per key
	done  chan result // buffered, capacity 1

	entries    []LogEntry // opApply, opLoad
	hist       History    // opSetHistory
	histOffset uint64     // opSetHistory
}

// size is the bytes of records o carries, for the batch byte bound.
func (o *op) size() int64 {
	n := int64(len(o.rec))
	for _, r := range o.recs {
		n += int64(len(r))
	}
	for _, e := range o.entries {
		n += int64(len(e.Value))
	}
	return n
}

type result struct {
	offset uint64 // offset of the write, or of the record an unchanged put repeated
	n      int    // opDeleteSlot: keys removed
	err    error
}

// submit queues o and waits for its result, ctx, or Close. The nested
// selects prefer a result that is already there over ctx or Close.
func (s *Store) submit(ctx context.Context, o *op) result {
	o.ctx = ctx
	o.done = make(chan result, 1)
	select {
	case s.ops <- o:
	case <-s.closing:
		return result{err: ErrClosed}
	case <-ctx.Done():
		return result{err: ctx.Err()}
	}
	select {
	case r := <-o.done:
		return r
	case <-ctx.Done():
		return o.resultOr(ctx.Err())
	case <-s.stopped:
		// The committer answers before it stops, so a missing result
		// means o was queued after the committer's last drain.
		return o.resultOr(ErrClosed)
	}
}

func (o *op) resultOr(err error) result {
	select {
	case r := <-o.done:
		return r
	default:
		return result{err: err}
	}
}

// run is the committer loop.
func (s *Store) run() {
	defer close(s.stopped)
	batch := make([]*op, 0, s.opts.MaxBatchOps)
	prev := 0 // size of the last batch
	for {
		select {
		case <-s.closing:
			s.failQueued()
			return
		default:
		}
		select {
		case <-s.closing:
			s.failQueued()
			return
		case o := <-s.ops:
			batch = s.collect(append(batch[:0], o), prev)
			prev = len(batch)
			s.commit(batch)
			clear(batch) // drop the records for the GC
		}
	}
}

// collect completes a batch that holds its first op. prev is the size of
// the previous batch, whose writers were just answered: if fewer are queued
// again, they are likely runnable but have not run yet. Without a yield the
// scheduler hands the CPU to the committer as soon as the first of them
// sends, so without fsync batches stay at 1-2 ops; yielding once lets them
// queue (50 writers, SyncNone: ~20 ops per commit and about 30% less CPU
// per put, measured).
func (s *Store) collect(batch []*op, prev int) []*op {
	batch = s.fill(batch)
	if len(batch) < prev {
		runtime.Gosched()
		batch = s.fill(batch)
	}
	return batch
}

// fill drains queued ops into batch without waiting.
func (s *Store) fill(batch []*op) []*op {
	var size int64
	for _, o := range batch {
		size += o.size()
	}
	for len(batch) < s.opts.MaxBatchOps && size < s.opts.MaxBatchBytes {
		select {
		case o := <-s.ops:
			batch = append(batch, o)
			size += o.size()
		default:
			return batch
		}
	}
	return batch
}

// failQueued answers every op still queued with ErrClosed.
func (s *Store) failQueued() {
	for {
		select {
		case o := <-s.ops:
			o.done <- result{err: ErrClosed}
		default:
			return
		}
	}
}

// commit applies batch in one transaction, publishes the new counters and
// answers every op.
func (s *Store) commit(batch []*op) {
	res := s.res[:len(batch)]
	w, err := s.applyBatch(batch, res)
	if err != nil {
		s.stats.failed.Add(1)
		s.logger.Error("commit failed", "ops", len(batch), "error", err)
		for i := range res {
			res[i] = result{err: err}
		}
	} else {
		s.publish(w)
	}
	for i, o := range batch {
		o.done <- res[i]
	}
	clear(res)
}

// applyBatch runs batch in one write transaction, filling res, and commits
// it if anything changed. It returns an error only when bbolt fails.
func (s *Store) applyBatch(batch []*op, res []result) (*writer, error) {
	tx, err := s.db.Begin(true)
	if err != nil {
		return nil, fmt.Errorf("store: begin write: %w", err)
	}
	w := &writer{tx: tx, data: tx.Bucket(bucketData), log: tx.Bucket(bucketLog), c: s.cur}
	for i, o := range batch {
		if res[i], err = w.apply(o); err != nil {
			_ = tx.Rollback()
			return nil, err
		}
	}
	if !w.dirty {
		return w, tx.Rollback()
	}
	meta := tx.Bucket(bucketMeta)
	err = w.pruneLog(s.opts.LogEntries, 2*len(batch)+64)
	if err == nil {
		err = writeCounters(meta, w.c)
	}
	if err == nil && w.syncing != nil {
		if *w.syncing {
			err = meta.Put(metaSyncing, []byte{1})
		} else {
			err = meta.Delete(metaSyncing)
		}
	}
	if err != nil {
		_ = tx.Rollback()
		return nil, err
	}
	if err := tx.Commit(); err != nil { // Commit rolls back on failure
		return nil, fmt.Errorf("store: commit: %w", err)
	}
	return w, nil
}

// publish makes a successful batch's counters visible.
func (s *Store) publish(w *writer) {
	if w.dirty {
		s.cur = w.c
		c := w.c
		s.pub.Store(&c)
		s.stats.commits.Add(1)
		ch := make(chan struct{})
		close(*s.changed.Swap(&ch))
	}
	s.stats.ops.Add(w.ops)
	s.stats.unchanged.Add(w.unchanged)
	s.stats.rejected.Add(w.rejected)
}

// writer applies ops to one write transaction.
type writer struct {
	tx   *bolt.Tx
	data *bolt.Bucket
	log  *bolt.Bucket
	// syncing, when set, is the new value of the mark of a full copy in
	// progress.
	syncing *bool
	c       counters // counters including the ops applied so far
	dirty   bool     // something was written

	ops, unchanged, rejected uint64
}

// apply applies o. A rule failure is o's result; the error is for bbolt
// failures, which abort the batch.
func (w *writer) apply(o *op) (result, error) {
	if err := o.ctx.Err(); err != nil {
		w.rejected++
		return result{err: err}, nil
	}
	switch o.kind {
	case opPut:
		return w.put(o.key, o.rec)
	case opDelete:
		return w.delete(o.key, o.force)
	case opDeleteSlot:
		return w.deleteSlot(o.slot)
	case opPutMany:
		return w.putMany(o.keys, o.recs)
	case opApply, opLoad:
		return w.applyEntries(o.entries, o.kind == opLoad)
	case opReset:
		t := true
		w.syncing = &t
		w.c.hist = History{}
		return w.reset(w.tx)
	case opSetHistory:
		f := false
		w.syncing = &f
		w.c.hist, w.c.offset, w.dirty = o.hist, o.histOffset, true
		return result{offset: w.c.offset}, nil
	case opNewHistory:
		w.c.hist = History{ID: newHistoryID(), PrevID: w.c.hist.ID, PrevOffset: w.c.offset}
		w.dirty = true
		return result{offset: w.c.offset}, nil
	}
	panic(fmt.Sprintf("store: unknown op kind %d", o.kind))
}

func (w *writer) put(key, rec []byte) (result, error) {
	if old := w.data.Get(key); old != nil {
		r, err := decodeRecord(old)
		if err != nil {
			return w.reject(err), nil
		}
		if !r.perm.Writable() {
			if r.perm == Perm(rec[0]) && bytes.Equal(r.value, rec[recordHeaderLen:]) {
				w.unchanged++
				return result{offset: r.offset}, nil
			}
			return w.reject(ErrReadOnly), nil
		}
		w.c.keys--
		w.c.bytes -= int64(len(r.value))
	}
	setOffset(rec, w.c.offset+1)
	if err := w.data.Put(key, rec); err != nil {
		return result{}, fmt.Errorf("store: put: %w", err)
	}
	w.c.keys++
	w.c.bytes += int64(len(rec) - recordHeaderLen)
	res := w.wrote()
	return res, w.logWrite(EntryPut, key)
}

func (w *writer) delete(key []byte, force bool) (result, error) {
	old := w.data.Get(key)
	if old == nil {
		return w.reject(ErrNotFound), nil
	}
	r, err := decodeRecord(old)
	if err != nil {
		return w.reject(err), nil
	}
	if !r.perm.Writable() && !force {
		return w.reject(ErrReadOnly), nil
	}
	size := int64(len(r.value)) // old may not outlive the Delete
	if err := w.data.Delete(key); err != nil {
		return result{}, fmt.Errorf("store: delete: %w", err)
	}
	w.c.keys--
	w.c.bytes -= size
	res := w.wrote()
	return res, w.logWrite(EntryDelete, key)
}

// deleteSlot removes every key with slot's prefix. It seeks again after
// each delete rather than calling Next, which can skip a key after Delete.
func (w *writer) deleteSlot(slot uint16) (result, error) {
	n, err := w.dropSlotCount(slot)
	if err != nil || n == 0 {
		return result{}, err
	}
	res := w.wrote()
	res.n = n
	return res, w.logWrite(EntryDropSlot, slotPrefix(slot))
}

func (w *writer) dropSlot(slot uint16) error {
	_, err := w.dropSlotCount(slot)
	return err
}

func (w *writer) dropSlotCount(slot uint16) (int, error) {
	prefix := slotPrefix(slot)
	c := w.data.Cursor()
	n := 0
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Seek(prefix) {
		size := int64(max(len(v)-recordHeaderLen, 0))
		if err := c.Delete(); err != nil {
			return n, fmt.Errorf("store: delete slot %d: %w", slot, err)
		}
		n++
		w.c.keys--
		w.c.bytes -= size
	}
	return n, nil
}

// wrote takes the next offset for a put or delete just applied.
// putMany writes every record or none: it first checks each against the
// immutability rule, then writes them all.
func (w *writer) putMany(keys, recs [][]byte) (result, error) {
	for i, key := range keys {
		old := w.data.Get(key)
		if old == nil {
			continue
		}
		r, err := decodeRecord(old)
		if err != nil {
			return w.reject(err), nil
		}
		rec := recs[i]
		if !r.perm.Writable() && (r.perm != Perm(rec[0]) || !bytes.Equal(r.value, rec[recordHeaderLen:])) {
			return w.reject(fmt.Errorf("key %q: %w", key[slotPrefixLen:], ErrReadOnly)), nil
		}
	}
	var last result
	for i, key := range keys {
		res, err := w.put(key, recs[i])
		if err != nil || res.err != nil {
			// Checked above: only bbolt can fail here, and that fails the
			// whole transaction.
			return res, err
		}
		last.offset = max(last.offset, res.offset)
	}
	return last, nil
}

func (w *writer) wrote() result {
	w.c.offset++
	w.dirty = true
	w.ops++
	return result{offset: w.c.offset}
}

func (w *writer) reject(err error) result {
	w.rejected++
	return result{err: err}
}
