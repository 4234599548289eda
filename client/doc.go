// Package client is the Go client of lambdakv.
//
// # Basics
//
// Dial connects to any node of a cluster, learns the topology, and from then
// on sends each request to the node that owns its key's slot, over one
// pipelined connection per node. Requests from many goroutines share those
// connections; many may be in flight at once and their responses may come
// back in any order. The *Async methods return a Future at once, so a
// single goroutine can also keep many requests in flight.
//
// Errors that mean a definite answer from the node are sentinel errors for
// errors.Is: ErrNotFound, ErrReadOnly, ErrUnauthorized and so on. The client
// follows MOVED and TRYAGAIN answers by itself, refreshes the topology when
// it changes or a node is unreachable, and redials a node that restarted.
//
// # Caveats
//
// A request that failed because its connection broke may or may not have
// been applied by the node. Puts of immutable values and executions whose
// outputs are immutable are safe to retry; the client retries on its own
// only requests that the node answered with MOVED or TRYAGAIN, reads, and
// requests that never left the client. BUSY is returned to the caller, who
// may retry later or elsewhere.
//
// The package imports nothing of the node but the wire types and the slot
// function.
package client
