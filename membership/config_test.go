package membership_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/membership"
)

func TestConfig_Validate(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*membership.Config)
		want string // part of the error; "" for valid
	}{
		{"default", func(*membership.Config) {}, ""},
		{"zero values are defaults", func(c *membership.Config) {
			*c = membership.Config{NodeID: "n"}
		}, ""},
		{"no node id", func(c *membership.Config) { c.NodeID = "" }, "NodeID is required"},
		{"long node id", func(c *membership.Config) { c.NodeID = strings.Repeat("n", 129) }, "NodeID"},
		{"bind hostname", func(c *membership.Config) { c.BindAddr = "localhost" }, "BindAddr"},
		{"advertise hostname", func(c *membership.Config) { c.AdvertiseAddr = "example.com" }, "AdvertiseAddr"},
		{"bind port", func(c *membership.Config) { c.BindPort = 70000 }, "BindPort"},
		{"advertise port", func(c *membership.Config) { c.AdvertisePort = -1 }, "AdvertisePort"},
		{"cluster", func(c *membership.Config) { c.Cluster = strings.Repeat("c", 256) }, "Cluster"},
		{"key length", func(c *membership.Config) { c.EncryptKey = make([]byte, 20) }, "EncryptKey"},
		{"seed", func(c *membership.Config) { c.Seeds = []string{"ok:1", "bad:port"} }, "Seeds"},
		{"meta", func(c *membership.Config) { c.Meta.Role = strings.Repeat("r", 600) }, "Meta"},
		{"probe timeout", func(c *membership.Config) { c.Profile.ProbeTimeout = c.Profile.ProbeInterval }, "ProbeTimeout"},
		{"suspicion", func(c *membership.Config) { c.Profile.SuspicionMult = 0 }, "SuspicionMult"},
		{"gossip", func(c *membership.Config) { c.Profile.GossipInterval = -time.Second }, "GossipInterval"},
		{"negative buffer", func(c *membership.Config) { c.EventBuffer = -1 }, "EventBuffer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := membership.DefaultConfig()
			c.NodeID = "node-0"
			tc.mod(c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("Validate = %v; want nil", err)
				}
				return
			}
			if !errors.Is(err, membership.ErrInvalidConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Validate = %v; want ErrInvalidConfig naming %q", err, tc.want)
			}
			if _, err := membership.New(c); !errors.Is(err, membership.ErrInvalidConfig) {
				t.Errorf("New = %v; want ErrInvalidConfig", err)
			}
		})
	}
}

func TestParseKey(t *testing.T) {
	for _, tc := range []struct {
		in   string
		size int // 0: an error
	}{
		{"AAAAAAAAAAAAAAAAAAAAAA==", 16},
		{"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", 24},
		{" AQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE=\n", 32},
		{"AAAA", 0}, // 3 bytes
		{"not base64!", 0},
		{"", 0},
	} {
		key, err := membership.ParseKey(tc.in)
		if len(key) != tc.size || (err != nil) != (tc.size == 0) {
			t.Errorf("ParseKey(%q) = %d bytes, %v; want %d bytes", tc.in, len(key), err, tc.size)
		}
	}
}

// New copies the Config: changing it afterwards has no effect.
func TestNew_copiesConfig(t *testing.T) {
	c := membership.DefaultTestConfig()
	c.NodeID = "node-0"
	c.Meta.Tags = map[string]string{"a": "1"}
	m, err := membership.New(c)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	c.NodeID = "changed"
	c.Meta.Tags["a"] = "2"
	if m.NodeID() != "node-0" {
		t.Errorf("NodeID = %q after changing the Config; want node-0", m.NodeID())
	}
	_ = m.Shutdown(t.Context())
}
