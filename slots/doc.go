// Package slots maps keys to the 16384 hash slots of a lambdakv cluster and
// holds the slot table that says which node owns each slot.
//
// Keys hash with CRC16 (XMODEM), as in Redis Cluster, so a key lands on the
// same slot in both systems. A key containing a non-empty {hash tag} hashes
// only the tag, which lets related keys share a slot.
//
// The package does no I/O and starts no goroutines; everything in it is
// deterministic and safe to call concurrently.
//
// # Basics
//
// A [Table] gives every slot a master node id, replica ids and an epoch.
// Tables are immutable values: [Table.Assign], [Table.AssignRange],
// [Table.SetReplicas], [Apply], [PromoteReplica] and [Merge] return new
// tables, so a node can publish its current *Table through an atomic
// pointer and let any goroutine read it. [Table.Ranges] lists the table as
// maximal runs of slots with one owner and epoch; [FromRanges] builds one
// back, validating it.
//
// Every node holds a full copy and gossips it. [Merge] combines two copies
// slot by slot: the higher epoch wins, so the coordinator makes each
// decision with epoch [Table.NextEpoch] (the table's highest epoch plus
// one) and the decision spreads by merging. [Table.MarshalBinary] encodes a
// table in a few bytes per range for memberlist's push/pull state and
// broadcasts; [Table.UnmarshalBinary] decodes untrusted input.
//
// The coordinator's algorithms are pure functions of a table:
//
//   - [Plan] balances slots over the live masters with the fewest moved
//     slots, and [Apply] flips the ownership of moves once their data has
//     been copied;
//   - [PromoteReplica] gives a dead master's slots to its replica with the
//     highest replication offset;
//   - [NeedsReplica] picks the master a node joining with --role auto
//     should replicate, and [Table.ReplicaOf] tells a replica whom it
//     follows.
//
// # Caveats
//
// Epochs are per slot, and any change, replicas included, spreads only if
// it carries a higher epoch than what other nodes hold for those slots. A
// coordinator must therefore decide on the newest table it has merged; a
// change made at a lower epoch stays local and is undone by the next merge.
//
// Two decisions made with the same epoch (two nodes both believing they
// coordinate, briefly) are not kept whole: each slot goes to the larger
// master id. All nodes still agree, whatever order the decisions arrive
// in, but the result may be a mix that neither coordinator planned:
//
//	old table:  0-149 c @6
//	X decides:  0-99 b @7
//	Y decides:  50-149 a @7
//	any node, after merging both, in either order:
//	            0-99 b @7 (50-99: b > a); 100-149 a @7
//
// The coordinator that wins the election should plan again from the
// merged table.
//
// An uncovered slot has epoch 0 and loses every merge: a merge can hand a
// slot to a master but never take it away, so a dead master with no live
// replica keeps its slots in the table ([PromoteReplica]), and the caller,
// which knows that master is dead, reports them uncovered.
//
// [Plan] minimizes moved slots, not ranges. A cluster that grows one
// master at a time takes a piece from every master on each join, so its
// table fragments: about 2,900 ranges (10 KB encoded) at 100 masters,
// against 100 ranges (1.4 KB) when all of them are planned at once. That
// fits memberlist's push/pull state but not a single UDP broadcast.
//
// A Table costs 32 KiB plus its distinct owners, and every change copies
// it; that suits a table that changes a few times a second, not per key.
package slots
