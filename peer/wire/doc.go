// Package wire defines the lambdakv wire protocol: length-prefixed frames,
// the request and response messages they carry, and the status codes.
//
// # Basics
//
// A frame is a 4-byte big-endian length followed by that many bytes holding
// one msgpack map. Requests carry a client-chosen 64-bit id that the
// response echoes, so a client may keep many requests in flight on one
// connection and match responses that arrive in any order.
//
// Messages are encoded and decoded field by field, without reflection: the
// hot path of every request goes through this package. Decoding aliases
// binary fields (values, outputs) into the frame instead of copying them, so
// a large value is held once.
//
// docs/protocol.md specifies every field; testdata/vectors.txt holds frames
// and their meaning, checked in both directions by the tests.
//
// # Caveats
//
// Ops and status codes are append-only enums: a number, once used, keeps its
// meaning forever. Decoders skip map keys they do not know, so a newer peer
// may add fields without breaking an older one.
//
// The decoder trusts no length in a frame: every declared length is checked
// against the bytes that remain before anything is allocated for it, one
// message holds at most 2^20 array elements, and skipping an unknown field
// never recurses, so no frame can make it allocate much more than its own
// size or exhaust the stack.
//
// This package is a leaf: it imports nothing of lambdakv, so that clients
// in Go depend on it and not on the node.
package wire
