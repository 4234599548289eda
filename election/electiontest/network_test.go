package electiontest_test

import (
	"errors"
	"testing"

	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/election/electiontest"
)

type inbox []election.Message

func (b *inbox) HandleMessage(m election.Message) { *b = append(*b, m) }

func TestNetwork_links(t *testing.T) {
	net := electiontest.NewNetwork(1)
	var a, b, c inbox
	net.Register("a", &a)
	net.Register("b", &b)
	net.Register("c", &c)
	ta := net.Transport("a")
	m := election.Message{Kind: election.KindElection, From: "a", Epoch: 3}

	send := func(to string) error { return ta.Send(to, m) }
	if err := send("b"); err != nil || len(b) != 1 || b[0] != m {
		t.Fatalf("send to b: err %v, inbox %v; want delivered", err, b)
	}
	net.Disconnect("b", "a")
	if err := send("b"); !errors.Is(err, electiontest.ErrUnreachable) {
		t.Errorf("send over a cut link = %v; want ErrUnreachable", err)
	}
	net.Connect("a", "b")
	net.Partition([]string{"a"}, []string{"b", "c"})
	if send("b") == nil || send("c") == nil {
		t.Error("send across a partition succeeded")
	}
	net.Heal()
	if err := send("c"); err != nil {
		t.Errorf("send after Heal = %v", err)
	}
	net.Unregister("c")
	if err := send("c"); !errors.Is(err, electiontest.ErrUnreachable) {
		t.Errorf("send to an unregistered node = %v; want ErrUnreachable", err)
	}
	if err := ta.Send("b", election.Message{}); err == nil {
		t.Error("send of an invalid message succeeded")
	}
}

func TestNetwork_drops(t *testing.T) {
	net := electiontest.NewNetwork(42)
	var b inbox
	net.Register("b", &b)
	ta := net.Transport("a")
	m := election.Message{Kind: election.KindAnswer, From: "a"}
	net.SetDropRate(0.5)
	for range 1000 {
		if err := ta.Send("b", m); err != nil {
			t.Fatal(err)
		}
	}
	delivered, dropped := net.Stats()
	if delivered+dropped != 1000 || delivered < 400 || delivered > 600 || int64(len(b)) != delivered {
		t.Errorf("delivered %d, dropped %d, inbox %d; want about half of 1000", delivered, dropped, len(b))
	}
	net.SetDropRate(0)
	net.SetFilter(func(from, to string, m election.Message) bool { return m.Kind != election.KindAnswer })
	before := len(b)
	_ = ta.Send("b", m)
	if len(b) != before {
		t.Error("filtered message delivered")
	}
}
