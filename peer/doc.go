// Package peer is a lambdakv node: it serves the client protocol, stores
// values, runs lambdas, and (in a cluster) talks to other nodes with the
// same protocol and client code that users have.
//
// # Basics
//
// New copies and validates a Config and allocates; it starts nothing.
// Start opens the store, binds the client and HTTP listeners, and only then
// begins serving. Shutdown stops everything Start began and waits for it,
// bounded by its context. Leave announces a departure; Shutdown only stops.
//
// Each connection has one reader and one writer goroutine. The reader
// decodes frames and answers reads inline, batching the gets that a client
// pipelined into one store transaction; writes and executions run in their
// own goroutines, so responses on one connection may come back out of
// order, matched by request id. Per-connection caps on requests in flight
// and bytes held keep a slow or hostile client from exhausting memory: when
// a cap is reached the reader stops reading and TCP pushes back.
//
// # Caveats
//
// A value travels in one frame and is held in memory once on each side; the
// value limit (256 MiB by default) bounds that.
package peer
