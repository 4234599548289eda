// Package slots maps keys to the 16384 hash slots of a lambdakv cluster and
// holds the slot table that says which node owns each slot.
//
// Keys hash with CRC16 (XMODEM), as in Redis Cluster, so a key lands on the
// same slot in both systems. A key containing a non-empty {hash tag} hashes
// only the tag, which lets related keys share a slot.
//
// The package does no I/O and starts no goroutines; everything in it is
// deterministic and safe to call concurrently.
package slots
