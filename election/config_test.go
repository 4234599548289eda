package election_test

import (
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/election"
	"github.com/lambdakv/lambdakv/election/electiontest"
)

func validConfig() *election.Config {
	cfg := election.DefaultConfig()
	cfg.ID = "n1"
	cfg.Transport = electiontest.NewNetwork(1).Transport("n1")
	return cfg
}

func TestConfig_Validate(t *testing.T) {
	for _, tt := range []struct {
		name   string
		modify func(*election.Config)
		want   string // substring of the error; "" for valid
	}{
		{"default", func(*election.Config) {}, ""},
		{"zero timeouts take defaults", func(c *election.Config) {
			*c = election.Config{ID: c.ID, Transport: c.Transport}
		}, ""},
		{"no id", func(c *election.Config) { c.ID = "" }, "ID"},
		{"long id", func(c *election.Config) { c.ID = strings.Repeat("x", election.MaxIDLen+1) }, "ID"},
		{"no transport", func(c *election.Config) { c.Transport = nil }, "Transport"},
		{"negative answer timeout", func(c *election.Config) { c.AnswerTimeout = -time.Second }, "AnswerTimeout"},
		{"negative coordinator timeout", func(c *election.Config) { c.CoordinatorTimeout = -1 }, "CoordinatorTimeout"},
		{"heartbeat not below leader timeout", func(c *election.Config) {
			c.HeartbeatInterval, c.LeaderTimeout = time.Second, time.Second
		}, "HeartbeatInterval"},
		{"negative queue", func(c *election.Config) { c.MessageQueue = -1 }, "MessageQueue"},
		{"negative events", func(c *election.Config) { c.EventBuffer = -1 }, "EventBuffer"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := validConfig()
			tt.modify(cfg)
			err := cfg.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v; want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v; want an error naming %s", err, tt.want)
			}
			if _, nerr := election.New(cfg); (nerr == nil) != (err == nil) {
				t.Errorf("New error %v disagrees with Validate error %v", nerr, err)
			}
		})
	}
}

func TestConfig_Validate_all(t *testing.T) {
	err := (&election.Config{AnswerTimeout: -1}).Validate()
	for _, field := range []string{"ID", "Transport", "AnswerTimeout"} {
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("Validate() = %v; want it to name %s", err, field)
		}
	}
	if err := (*election.Config)(nil).Validate(); err == nil {
		t.Error("nil Config validated")
	}
}

func TestDefaultConfig_fresh(t *testing.T) {
	a, b := election.DefaultConfig(), election.DefaultConfig()
	a.LeaderTimeout = time.Hour
	if b.LeaderTimeout == time.Hour {
		t.Error("DefaultConfig returned a shared Config")
	}
}
