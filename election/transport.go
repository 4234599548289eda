package election

// Transport carries election messages to other masters. It is the only way
// an Elector talks to the outside world; membership is pushed in through
// [Elector.SetMembers] and incoming messages through [Elector.HandleMessage].
//
// In production the peer implements it over memberlist user messages
// (encode with [Message.AppendBinary], deliver with a best-effort send);
// tests use the in-memory network in package electiontest.
type Transport interface {
	// Send delivers m to the master named to, best effort: it may drop,
	// delay or reorder the message and need not report a loss. An error
	// means the message was certainly not sent; the Elector logs it and
	// carries on, relying on its timeouts, exactly as for a silent loss.
	//
	// Send is called from the Elector's run loop, so it must not block for
	// long (enqueue, or use an unreliable datagram). It is never called
	// concurrently by one Elector.
	Send(to string, m Message) error
}
