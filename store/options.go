package store

import (
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/go-hclog"
	bolt "go.etcd.io/bbolt"
)

// SyncMode says when a commit reaches the disk. The zero value is
// SyncAlways. It is a plain value, safe to share.
type SyncMode int

const (
	// SyncAlways fsyncs every commit before its writes are acknowledged: an
	// acknowledged write survives a crash of the process or the machine.
	SyncAlways SyncMode = iota
	// SyncNone never fsyncs (bbolt NoSync). A crash of the process loses
	// nothing, since the kernel keeps the written pages, but a crash of the
	// machine may lose acknowledged writes (and so take Offset back) or
	// corrupt the file.
	SyncNone
)

// String returns "always" or "none".
func (m SyncMode) String() string {
	switch m {
	case SyncAlways:
		return "always"
	case SyncNone:
		return "none"
	}
	return fmt.Sprintf("SyncMode(%d)", int(m))
}

// ParseSyncMode parses "always" or "none".
func ParseSyncMode(s string) (SyncMode, error) {
	switch s {
	case "always":
		return SyncAlways, nil
	case "none":
		return SyncNone, nil
	}
	return 0, fmt.Errorf("store: sync mode %q: want always or none", s)
}

// Defaults applied by Open for zero Options fields.
const (
	// DefaultMaxValueSize is the default Options.MaxValueSize: 256 MiB.
	DefaultMaxValueSize = 256 << 20
	// DefaultMaxBatchOps is the default Options.MaxBatchOps.
	DefaultMaxBatchOps = 1024
	// DefaultMaxBatchBytes is the default Options.MaxBatchBytes: 64 MiB.
	DefaultMaxBatchBytes = 64 << 20
	// DefaultLockTimeout is the default Options.LockTimeout.
	DefaultLockTimeout = 2 * time.Second

	// DefaultLogEntries is how many of the latest writes the replication
	// log keeps by default.
	DefaultLogEntries = 1 << 20

	// maxRecordValue is the largest value bbolt stores after our 9-byte
	// record header.
	maxRecordValue = bolt.MaxValueSize - recordHeaderLen
)

// Options configures a Store. Open copies it, so changing it afterwards has
// no effect on the Store; it is a plain struct without locking. The zero
// value is usable and means the defaults.
type Options struct {
	// Sync says when commits are fsynced. Zero is SyncAlways.
	Sync SyncMode

	// MaxValueSize is the longest value Put accepts, in bytes. If zero, it
	// defaults to 256 MiB. It may not exceed bbolt's limit (2 GiB - 11).
	MaxValueSize int64

	// MaxBatchOps is the most write operations one commit carries. If zero,
	// it defaults to 1024. 1 turns group commit off.
	MaxBatchOps int

	// MaxBatchBytes stops adding operations to a commit once their values
	// add up to this many bytes, bounding the memory and latency of one
	// commit; a commit always takes at least one operation. If zero, it
	// defaults to 64 MiB.
	MaxBatchBytes int64

	// InitialMmapSize is the size, in bytes, of the first memory map of the
	// file. A map large enough for the whole file means a write never waits
	// for open read transactions to remap (see the package Caveats). If zero,
	// bbolt maps only what the file needs and grows the map as it grows.
	InitialMmapSize int64

	// LockTimeout is how long Open waits for the file lock that another
	// process holding the store has. If zero, it defaults to 2 s.
	LockTimeout time.Duration

	// Logger receives the store's logs. If nil, hclog.New named "store".
	Logger hclog.Logger

	// LogEntries is how many of the latest writes the replication log
	// keeps (a few dozen bytes each: entries hold keys, not values); a
	// replica further behind takes a full copy. If zero, it defaults to
	// DefaultLogEntries.
	LogEntries uint64
}

// DefaultOptions returns a fresh Options with every default filled in.
func DefaultOptions() *Options {
	return &Options{
		Sync:          SyncAlways,
		MaxValueSize:  DefaultMaxValueSize,
		MaxBatchOps:   DefaultMaxBatchOps,
		MaxBatchBytes: DefaultMaxBatchBytes,
		LockTimeout:   DefaultLockTimeout,
		LogEntries:    DefaultLogEntries,
	}
}

// Validate reports the first field of o that is out of range, and why.
// Zero fields are valid (they mean the default).
func (o *Options) Validate() error {
	switch {
	case o.Sync != SyncAlways && o.Sync != SyncNone:
		return fmt.Errorf("store options: Sync %d: want SyncAlways or SyncNone", int(o.Sync))
	case o.MaxValueSize < 0 || o.MaxValueSize > maxRecordValue:
		return fmt.Errorf("store options: MaxValueSize %d: want 0..%d bytes", o.MaxValueSize, int64(maxRecordValue))
	case o.MaxBatchOps < 0:
		return fmt.Errorf("store options: MaxBatchOps %d: want >= 0", o.MaxBatchOps)
	case o.MaxBatchBytes < 0:
		return fmt.Errorf("store options: MaxBatchBytes %d: want >= 0", o.MaxBatchBytes)
	case o.InitialMmapSize < 0 || o.InitialMmapSize > math.MaxInt:
		return fmt.Errorf("store options: InitialMmapSize %d: want 0..%d bytes", o.InitialMmapSize, math.MaxInt)
	case o.LockTimeout < 0:
		return fmt.Errorf("store options: LockTimeout %s: want >= 0", o.LockTimeout)
	}
	return nil
}

// withDefaults returns a copy of o (nil meaning DefaultOptions) with zero
// fields replaced by their defaults.
func (o *Options) withDefaults() Options {
	if o == nil {
		o = DefaultOptions()
	}
	c := *o
	if c.MaxValueSize == 0 {
		c.MaxValueSize = DefaultMaxValueSize
	}
	if c.MaxBatchOps == 0 {
		c.MaxBatchOps = DefaultMaxBatchOps
	}
	if c.MaxBatchBytes == 0 {
		c.MaxBatchBytes = DefaultMaxBatchBytes
	}
	if c.LockTimeout == 0 {
		c.LockTimeout = DefaultLockTimeout
	}
	if c.LogEntries == 0 {
		c.LogEntries = DefaultLogEntries
	}
	if c.Logger == nil {
		c.Logger = hclog.New(&hclog.LoggerOptions{Name: "store"})
	}
	return c
}

// boltOptions translates o (with defaults applied) for bolt.Open.
func (o *Options) boltOptions() *bolt.Options {
	return &bolt.Options{
		Timeout:         o.LockTimeout,
		NoFreelistSync:  true,
		FreelistType:    bolt.FreelistMapType,
		InitialMmapSize: int(o.InitialMmapSize),
		NoSync:          o.Sync == SyncNone,
		NoStatistics:    true, // unused; saves two mutex acquisitions per read transaction
	}
}
