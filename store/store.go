package store

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"

	"github.com/hashicorp/go-hclog"
	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/lambdakv/lambdakv/slots"
)

// Store is one node's key-value storage: a bbolt file, the permission rules
// of DESIGN §3, and a write offset for replication. All methods are safe for
// concurrent use. Writes go through one committer goroutine that commits
// whatever is queued in one transaction (group commit); reads run in their
// own bbolt read transactions and never wait for the committer.
//
// The zero Store is not usable; call Open.
type Store struct {
	db     *bolt.DB
	path   string
	opts   Options
	logger hclog.Logger

	ops     chan *op      // queued writes; the committer takes them
	closing chan struct{} // closed by Close: the committer stops taking ops
	stopped chan struct{} // closed when the committer has returned

	closeOnce sync.Once
	closeErr  error // result of the first Close

	pub     atomic.Pointer[counters]      // counters as of the last commit
	changed atomic.Pointer[chan struct{}] // closed and replaced by each commit
	stats   opStats                       // running totals since Open

	cur counters // owned by the committer: counters as of the last commit
	res []result // owned by the committer: scratch for one batch
}

// Stats is a snapshot of a Store's counters. It is a plain value.
type Stats struct {
	// Offset is the offset of the last committed write (see Store.Offset).
	Offset uint64
	// Keys is the number of keys stored. It is kept in the file.
	Keys int64
	// Bytes is the sum of the stored values' lengths, in bytes, without
	// keys or overhead. It is kept in the file.
	Bytes int64
	// FileSize is the size of the file on disk, in bytes; 0 if it could not
	// be read.
	FileSize int64

	// The counters below start at zero when the Store is opened.

	// Commits is the number of write transactions committed.
	Commits uint64
	// Ops is the number of write operations those commits applied: puts and
	// deletes that got an offset, and DeleteSlot calls that removed keys.
	// Ops/Commits is the mean group-commit size.
	Ops uint64
	// Unchanged is the number of puts that repeated an immutable key's value
	// and perm, and so succeeded without a write.
	Unchanged uint64
	// Rejected is the number of writes refused by a rule (ErrReadOnly,
	// ErrNotFound) or whose context ended while they were queued.
	Rejected uint64
	// FailedCommits is the number of batches whose transaction failed (an
	// I/O error); every write in such a batch got the error.
	FailedCommits uint64
}

// opStats are running totals, updated by the committer after each batch.
type opStats struct {
	commits, ops, unchanged, rejected, failed atomic.Uint64
}

// Open opens the store at path, creating the file and its parent directory
// if needed, and starts the committer goroutine. A nil opts means
// DefaultOptions. Another process holding the file makes Open fail after
// Options.LockTimeout.
func Open(path string, opts *Options) (*Store, error) {
	s, err := open(path, opts)
	if err != nil {
		return nil, err
	}
	s.start()
	return s, nil
}

// open opens the file and loads the counters, but starts no goroutine.
func open(path string, opts *Options) (*Store, error) {
	if opts != nil {
		if err := opts.Validate(); err != nil {
			return nil, err
		}
	}
	o := opts.withDefaults()
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	db, err := bolt.Open(path, 0o600, o.boltOptions())
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	c, err := initBuckets(db)
	if err != nil {
		_ = db.Close()
		return nil, fmt.Errorf("open store %s: %w", path, err)
	}
	s := &Store{
		db:      db,
		path:    path,
		opts:    o,
		logger:  o.Logger,
		ops:     make(chan *op, o.MaxBatchOps),
		closing: make(chan struct{}),
		stopped: make(chan struct{}),
		cur:     c,
		res:     make([]result, 0, o.MaxBatchOps),
	}
	s.pub.Store(&c)
	ch := make(chan struct{})
	s.changed.Store(&ch)
	s.logger.Info("opened", "path", path, "sync", o.Sync.String(), "keys", c.keys, "offset", c.offset)
	return s, nil
}

// initBuckets creates the buckets of a new file and reads the counters.
func initBuckets(db *bolt.DB) (c counters, err error) {
	err = db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketData, bucketLog} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		meta, err := tx.CreateBucketIfNotExists(bucketMeta)
		if err != nil {
			return err
		}
		if c, err = readCounters(meta); err != nil {
			return err
		}
		if c.hist.ID == "" && meta.Get(metaSyncing) == nil {
			// A new store, or one from before histories: its writes are
			// a history of their own.
			c.hist.ID = newHistoryID()
			return writeHistory(meta, c.hist)
		}
		return nil
	})
	return c, err
}

func (s *Store) start() { go s.run() }

// Close stops the committer, fails the writes still queued with ErrClosed,
// waits for the batch being committed, if any, and closes the file (waiting
// for open read transactions). Close is idempotent and safe to call
// concurrently; every call returns the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.closing)
		<-s.stopped
		s.closeErr = s.db.Close()
		s.logger.Info("closed", "path", s.path)
	})
	return s.closeErr
}

// Put stores value under key with perm and returns the offset of the write.
// Put copies value before it returns or queues, so the caller may reuse it.
//
// Rules (checked inside the write transaction, so concurrent writers cannot
// race past them): perm must be valid and include PermR (ErrBadPerm,
// ErrPermRequired); over a mutable key Put replaces value and perm; over an
// immutable key (no PermW) a Put repeating the exact value and perm succeeds
// and returns the offset of the existing record, and any other Put fails
// with ErrReadOnly.
//
// If ctx ends first, Put returns ctx.Err(). A write whose context ends while
// it is still queued is dropped, but one already taken into a batch may be
// committed even though Put returned ctx.Err(). After Close, or for writes
// still queued when Close is called, Put returns ErrClosed.
func (s *Store) Put(ctx context.Context, key string, value []byte, perm Perm) (offset uint64, err error) {
	if err := ValidateKey(key); err != nil {
		return 0, err
	}
	if err := perm.Validate(); err != nil {
		return 0, err
	}
	if int64(len(value)) > s.opts.MaxValueSize {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(value), s.opts.MaxValueSize)
	}
	if err := s.admit(ctx); err != nil {
		return 0, err
	}
	r := s.submit(ctx, &op{kind: opPut, key: dbKey(key), rec: newRecord(value, perm)})
	return r.offset, r.err
}

// Item is one key of a PutMany.
type Item struct {
	Key   string
	Value []byte
	Perm  Perm
}

// PutMany stores items in one transaction, all or nothing: if any of them
// breaks a rule (ErrReadOnly, a bad key or permission, a duplicate key),
// none is stored. It returns the highest offset written (or repeated, for
// identical puts of immutable keys).
func (s *Store) PutMany(ctx context.Context, items []Item) (offset uint64, err error) {
	if len(items) == 0 {
		return s.Offset(), nil
	}
	o := &op{kind: opPutMany, keys: make([][]byte, len(items)), recs: make([][]byte, len(items))}
	seen := make(map[string]bool, len(items))
	for i, it := range items {
		if err := ValidateKey(it.Key); err != nil {
			return 0, err
		}
		if err := it.Perm.Validate(); err != nil {
			return 0, fmt.Errorf("key %q: %w", it.Key, err)
		}
		if int64(len(it.Value)) > s.opts.MaxValueSize {
			return 0, fmt.Errorf("key %q: %w: %d bytes, limit %d", it.Key, ErrValueTooLarge, len(it.Value), s.opts.MaxValueSize)
		}
		if seen[it.Key] {
			return 0, fmt.Errorf("%w: key %q given twice", ErrBadKey, it.Key)
		}
		seen[it.Key] = true
		o.keys[i], o.recs[i] = dbKey(it.Key), newRecord(it.Value, it.Perm)
	}
	if err := s.admit(ctx); err != nil {
		return 0, err
	}
	r := s.submit(ctx, o)
	return r.offset, r.err
}

// HeaderRoom is how many bytes PutBuffer needs in front of a value.
const HeaderRoom = recordHeaderLen

// PutBuffer is Put for a value that the caller holds with HeaderRoom spare
// bytes in front of it: buf[HeaderRoom:] is the value, and the store writes
// the record header into buf[:HeaderRoom] instead of copying the value
// into a new record. The caller must not touch buf until PutBuffer returns,
// nor afterwards if ctx ended before the write was done (the write may
// still be in a commit). It is for large values received into a buffer the
// caller owns.
func (s *Store) PutBuffer(ctx context.Context, key string, buf []byte, perm Perm) (offset uint64, err error) {
	if len(buf) < HeaderRoom {
		return 0, fmt.Errorf("store: PutBuffer: %d bytes leave no room for the header", len(buf))
	}
	value := buf[HeaderRoom:]
	if err := ValidateKey(key); err != nil {
		return 0, err
	}
	if err := perm.Validate(); err != nil {
		return 0, err
	}
	if int64(len(value)) > s.opts.MaxValueSize {
		return 0, fmt.Errorf("%w: %d bytes, limit %d", ErrValueTooLarge, len(value), s.opts.MaxValueSize)
	}
	if err := s.admit(ctx); err != nil {
		return 0, err
	}
	buf[0] = byte(perm)
	r := s.submit(ctx, &op{kind: opPut, key: dbKey(key), rec: buf})
	return r.offset, r.err
}

// Delete removes key and returns the offset of the write. It returns
// ErrNotFound if key does not exist, and ErrReadOnly if key is immutable
// (no PermW) and force is false. Context and Close behave as for Put.
func (s *Store) Delete(ctx context.Context, key string, force bool) (offset uint64, err error) {
	if err := ValidateKey(key); err != nil {
		return 0, err
	}
	if err := s.admit(ctx); err != nil {
		return 0, err
	}
	r := s.submit(ctx, &op{kind: opDelete, key: dbKey(key), force: force})
	return r.offset, r.err
}

// DeleteSlot removes every key of slot, whatever its permissions, in one
// transaction, and returns how many it removed. It is the seam for dropping
// a slot after it migrated to another node. If it removed anything it
// takes an offset and a log entry, so that replicas drop the slot too.
// Context and Close behave as for Put.
func (s *Store) DeleteSlot(ctx context.Context, slot uint16) (n int, err error) {
	if slot >= slots.NumSlots {
		return 0, fmt.Errorf("store: delete slot %d: want < %d", slot, slots.NumSlots)
	}
	if err := s.admit(ctx); err != nil {
		return 0, err
	}
	r := s.submit(ctx, &op{kind: opDeleteSlot, slot: slot})
	return r.n, r.err
}

// admit fails fast when ctx has ended or the store is closing.
func (s *Store) admit(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	select {
	case <-s.closing:
		return ErrClosed
	default:
		return nil
	}
}

// Offset returns the offset of the last committed write: every successful
// write (a put that stored something, a delete) takes the previous offset
// plus one, in the same transaction. Offsets never go backwards, also
// across Close and Open. Zero means nothing was ever written.
func (s *Store) Offset() uint64 { return s.pub.Load().offset }

// Stats returns a snapshot of the store's counters. Offset, Keys and Bytes
// are consistent with each other (as of one commit).
func (s *Store) Stats() Stats {
	c := s.pub.Load()
	st := Stats{
		Offset:        c.offset,
		Keys:          c.keys,
		Bytes:         c.bytes,
		Commits:       s.stats.commits.Load(),
		Ops:           s.stats.ops.Load(),
		Unchanged:     s.stats.unchanged.Load(),
		Rejected:      s.stats.rejected.Load(),
		FailedCommits: s.stats.failed.Load(),
	}
	if fi, err := os.Stat(s.path); err == nil {
		st.FileSize = fi.Size()
	}
	return st
}

// View runs fn in one read transaction, which sees the store as of one
// commit. Use it to serve many reads at the cost of one transaction. fn
// must not retain tx or the values it returns after it returns. A long fn
// can delay writes that need to grow the file (see the package Caveats).
// View returns fn's error, or ErrClosed after Close.
func (s *Store) View(fn func(tx *ReadTx) error) error {
	err := s.db.View(func(btx *bolt.Tx) error {
		return fn(&ReadTx{data: btx.Bucket(bucketData)})
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

// Get returns a copy of key's value and its permission, or ErrNotFound.
func (s *Store) Get(key string) (value []byte, perm Perm, err error) {
	err = s.View(func(tx *ReadTx) error {
		var v []byte
		v, perm, err = tx.Get(key)
		value = bytesClone(v)
		return err
	})
	return value, perm, err
}

// Stat returns the length of key's value, in bytes, and its permission, or
// ErrNotFound.
func (s *Store) Stat(key string) (size int64, perm Perm, err error) {
	err = s.View(func(tx *ReadTx) error {
		size, perm, err = tx.Stat(key)
		return err
	})
	return size, perm, err
}

// ScanSlot calls fn for every key of slot, in key order, inside one read
// transaction, with the value, permission and offset of its record. value is
// valid only until fn returns. A non-nil error from fn stops the scan and is
// returned. It is the seam for copying a slot to another node.
func (s *Store) ScanSlot(slot uint16, fn func(key string, value []byte, perm Perm, offset uint64) error) error {
	return s.View(func(tx *ReadTx) error { return tx.scanSlot(slot, fn) })
}

// bytesClone copies b, keeping a non-nil empty value non-nil.
func bytesClone(b []byte) []byte {
	if b == nil {
		return nil
	}
	return append(make([]byte, 0, len(b)), b...)
}
