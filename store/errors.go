package store

import "errors"

// Errors returned by this package. Callers check them with errors.Is; the
// store may wrap them with the operation and the reason.
var (
	// ErrClosed is returned by every operation on a Store after Close, and
	// by writes still queued when Close is called.
	ErrClosed = errors.New("store: closed")
)

// Errors returned by Put and ValidateKey, Perm.Validate and ParsePerm.
var (
	// ErrBadKey is returned when a key is empty, longer than MaxKeyLen or
	// contains a NUL byte.
	ErrBadKey = errors.New("store: bad key")

	// ErrBadPerm is returned when a permission has bits other than PermR,
	// PermW and PermX, or a permission string does not parse.
	ErrBadPerm = errors.New("store: bad permission")

	// ErrPermRequired is returned when a put's permission lacks PermR; every
	// stored key is readable.
	ErrPermRequired = errors.New("store: permission must include r")

	// ErrValueTooLarge is returned when a value is longer than
	// Options.MaxValueSize.
	ErrValueTooLarge = errors.New("store: value too large")

	// ErrReadOnly is returned by Put when the key exists without PermW and
	// the new value or permission differs from the stored one, and by Delete
	// of such an immutable key without force.
	ErrReadOnly = errors.New("store: key is read-only")
)

// Errors returned by Get, Stat, ReadTx.Get, ReadTx.Stat and Delete.
var (
	// ErrNotFound is returned when the key does not exist.
	ErrNotFound = errors.New("store: key not found")
)
