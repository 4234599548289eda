// Package election picks one coordinator among a cluster's live masters
// with the Bully algorithm: the live master with the highest priority (by
// default, the highest id as a string) wins. It is a state machine behind a
// small Transport interface; it does no I/O of its own, and membership is
// pushed into it.
//
// # Basics
//
// Create an Elector with New, give it the masters membership knows about
// with SetMembers (again on every change), pass every received election
// message to HandleMessage, then Start it:
//
//	cfg := election.DefaultConfig()
//	cfg.ID, cfg.Transport = nodeID, transport // Send over memberlist
//	el, err := election.New(cfg)
//	el.SetMembers(liveMasters, knownMasters)
//	err = el.Start(ctx)
//	...
//	if st := el.Status(); st.CanAct() {
//		// change the slot table, stamped with st.Epoch
//	}
//
// One goroutine, the run loop, owns the state; the public methods hand it
// work over channels (HandleMessage and SetMembers never block) and read
// the Status it publishes. Events reports changes.
//
// An election: the node sends Election to every other live master. A
// higher one replies Answer (it will take over and elect itself); a lower
// one votes with Ack. If no Answer comes within AnswerTimeout and the node
// and its voters are a strict majority of the known masters, it claims
// leadership at epoch MaxEpoch+1, above every epoch it has seen, and sends
// Coordinator to every live master. A node that got an Answer waits
// CoordinatorTimeout for that Coordinator message, then elects again.
// Claims rank by epoch, then priority; a node follows the best claim it
// has seen and never goes back to a lower epoch.
//
// The coordinator heartbeats every HeartbeatInterval; followers
// acknowledge each heartbeat. A follower elects when membership declares
// its coordinator dead, or when the coordinator has been silent for
// LeaderTimeout. A node that just started (or regained a majority) first
// listens for LeaderTimeout, so a master that returns learns the current
// coordinator instead of deposing it: a healthy coordinator keeps its post
// until an election is needed, even when a higher master joins, and a
// follower asked to vote by such a master answers with its coordinator's
// claim instead.
//
// The coordinator acts (Status.CanAct) only while membership shows a
// strict majority of the masters it knows as live and a strict majority
// has acknowledged its claim within the last LeaderTimeout minus
// HeartbeatInterval (its lease). A node in a minority partition never
// claims and never mints an epoch; a coordinator cut off in one stops
// acting when its lease runs out.
//
// Cold start of three masters (n3 highest). All listen, hear nobody, and
// elect at the same moment; votes and answers cross:
//
//	n1                        n2                        n3
//	Election → n2, n3         Election → n1, n3         Election → n1, n2
//	                          from n1: Answer           from n1: Answer
//	from n2: Ack (a vote)
//	from n3: Ack (a vote)     from n3: Ack (a vote)
//	Answer from n2: Waiting   Answer from n3: Waiting   first vote: 2 of 3 known,
//	                                                    nobody higher: claim
//	                                                    epoch 1, Coordinator → n1, n2
//	follow n3@1, Ack          follow n3@1, Ack          lease from the votes, then Acks
//
// The coordinator dies between its claim and some of its Coordinator
// messages (n1 < n2 < n3 < n4, all four known):
//
//	n4: claims epoch 1; Coordinator reaches n1, then n4 dies
//	n1: follows n4@1, Acks    n2, n3: wait, n4 answered them (at epoch 0)
//	n2, n3: no Coordinator within CoordinatorTimeout; n4 may have claimed
//	        epoch 1 before dying, so MaxEpoch becomes 1
//	n3: elects: Election → n1, n2, n4. n2 votes. n1 has not heard from n4
//	        lately, so it does not vouch for n4; and it acknowledged n4
//	        less than LeaderTimeout ago, and n4's lease may still count
//	        that Ack, so it does not vote either
//	n3: 2 of 4 is no majority: the election fails; it listens
//	n1: n4 silent for LeaderTimeout: coordinator lost. n1 elects; n3
//	        answers and elects again; now n1 and n2 vote for n3
//	n3: no Answer (n4 is dead), 3 of 4 voted: claims epoch 2 = MaxEpoch+1
//
// Had n4 answered nobody, n3 would not know epoch 1 was taken and would
// claim it too. n1, following n4@1, which outranks n3@1, answers n3's
// claim with n4's: n3 steps down, and claims epoch 2 once n4 is declared
// dead or found silent.
//
// # Caveats
//
// This is Bully with votes and leases, not consensus. Under message loss
// two candidates can both claim, because a voter may switch its vote to a
// higher candidate; the lower one steps down as soon as any claim of the
// higher reaches it (directly, or as a correction from a node that follows
// it), and its lease, seeded by votes, lapses within LeaderTimeout unless
// renewed. Two claims may carry the same epoch (each ranked by priority).
// So fence every decision with the epoch and let the slot table's merge
// rule (higher epoch wins) settle the rare conflict.
//
// Leases assume a message takes less than HeartbeatInterval to arrive and
// that clocks run at about the same rate; they do not need synchronised
// clocks. Until its lease runs out, a coordinator cut off with a minority
// can still act.
//
// Epochs live in memory. A node learns the current epoch from any message
// it receives, but if every master restarts, epochs start again at 1
// unless Config.InitialEpoch says otherwise (for example, from the
// gossiped slot table).
//
// Give an accurate SetMembers view before Start: a node that believes it is
// the only master elects itself after LeaderTimeout.
//
// Transport.Send is called from the run loop and must not block; sends are
// best effort. Elections send O(n²) messages in all, fine for tens of
// masters.
//
// Events are hints: when a reader falls behind, the oldest are dropped.
// Status is the truth.
package election
