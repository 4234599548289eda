// Package linkem emulates a slower network link on TCP connections: it
// wraps a net.Listener so that every connection it accepts delays each
// direction by a fixed one-way delay and, optionally, limits each
// direction's rate. It exists for the lab (lkv lab up), where the kernel
// has no netem: the node wraps its client listener, so every TCP hop into
// a node is delayed once in each direction.
//
// # Basics
//
// Bytes keep their order. Each direction holds at most Config.Buffer bytes
// in flight; a writer past that blocks, and past that on the receiving
// side the connection stops reading, so TCP holds the sender back. Delays
// are kept with sub-millisecond precision: the last stretch of each wait
// is a nanosleep followed by a short spin, because time.Sleep on Linux
// overshoots by about a millisecond.
//
// # Caveats
//
// A wait that is due shortly (under about 2 ms) is not interrupted by a
// deadline or Close; it ends when due. Close lets the bytes already
// written reach the wire (each after its delay, for at most a few seconds)
// and returns once every goroutine of the connection has ended.
package linkem
