package slots

import "errors"

// Errors returned by [FromRanges] and [Table.UnmarshalBinary]. Callers check
// them with errors.Is; the returned error wraps one of them and says which
// range or byte offset is at fault.
var (
	// ErrInvalidRange means a range is out of bounds, overlaps another,
	// has an empty or oversized node id, lists too many replicas, lists
	// its master as a replica, or has a master with epoch 0.
	ErrInvalidRange = errors.New("slots: invalid range")

	// ErrMalformed means an encoded table is truncated, has trailing bytes,
	// an unknown version, or a count or index beyond its limit.
	ErrMalformed = errors.New("slots: malformed table encoding")
)
