// Package store is one node's storage: a bbolt file holding keys with
// permissions and a write offset for replication, and the byte-bounded LRU
// cache of immutable values fetched from other nodes. It is the only
// package that imports bbolt.
//
// # Basics
//
// Open a store with Open and close it with Close. Put, Delete and Get do
// what their names say; View runs many reads in one read transaction; Stat
// reports a value's size and permission without copying it.
//
//	s, err := store.Open(filepath.Join(dir, "data.db"), nil)
//	if err != nil { ... }
//	defer s.Close()
//	off, err := s.Put(ctx, "{user1}.bin", exe, store.PermR|store.PermX)
//	v, perm, err := s.Get("{user1}.bin")
//
// Every key carries a Perm (DESIGN §3). PermR is required on every put. A
// key without PermW is immutable: a put repeating its exact value and perm
// succeeds without writing (so re-running a lambda is harmless), any other
// put fails with ErrReadOnly, and only a forced Delete removes it. The rules
// are checked inside the write transaction, so concurrent writers cannot
// race past them: of many writers putting different values to one new
// immutable key, exactly one wins.
//
// Every successful write (a put that stored something, a delete) takes the
// next offset, stored in the file in the same transaction and in the record
// it wrote; Offset returns the last one. Offsets never go backwards, also
// across restarts.
//
// Writes are group-committed: one goroutine commits whatever writes are
// queued in one transaction, so N concurrent writers share one fsync. With
// Options.Sync SyncAlways (the default) an acknowledged write survives a
// crash of the process or the machine.
//
// On disk, bucket "data" maps the 2-byte big-endian slot of a key followed
// by the key to a record (1 byte perm, 8 byte big-endian offset, value),
// so the keys of one slot are contiguous: ScanSlot and DeleteSlot, the
// seams for slot migration, walk one range. Bucket "meta" holds the offset
// and the key and byte counters.
//
// # Caveats
//
// Values returned by ReadTx.Get and passed to ScanSlot's function alias the
// memory-mapped file and are valid only inside the transaction; Store.Get
// copies.
//
// A write that grows the file past its memory map must remap, which waits
// until every open read transaction ends. Keep View and ScanSlot functions
// short, or set Options.InitialMmapSize above the expected file size.
//
// A value is held in memory about three times while its write commits
// (the caller's copy, the record, bbolt's pages); Options.MaxBatchBytes
// bounds how many values one commit holds.
//
// When a Put or Delete's context ends after the write was taken into a
// batch, the call returns the context's error but the write may still be
// committed. Retry with the same arguments: puts of immutable keys are
// idempotent.
//
// The file does not shrink when keys are deleted; bbolt reuses the freed
// pages. The freelist is not written to disk (NoFreelistSync), so opening
// a large file after a crash scans it once to rebuild the freelist.
//
// Cache does not copy: values given to Add and returned by Get are shared
// and must not be modified.
package store
