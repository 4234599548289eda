package jail

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCheckName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"a/b/c.txt", true}, {".hidden", true}, {"a..b", true}, {"..a", true},
		{"", false}, {".", false}, {"..", false}, {"../a", false}, {"a/../../b", false},
		{"/a", false}, {"a/", false}, {"a//b", false}, {"./a", false}, {"a/./b", false},
		{"a\x00b", false}, {strings.Repeat("x", 256), false}, {strings.Repeat("a/", 600) + "a", false},
	}
	for _, tt := range tests {
		err := checkName(tt.name)
		if tt.ok != (err == nil) || (err != nil && !errors.Is(err, ErrBadName)) {
			t.Errorf("checkName(%q) = %v; want ok=%v", tt.name, err, tt.ok)
		}
	}
}

func TestLimits_resolve(t *testing.T) {
	def := builtinLimits()
	max := builtinLimits()
	max.Wall = time.Minute
	got := resolve(Limits{Wall: time.Hour, Memory: 1 << 20}, def, max)
	want := def
	want.Wall, want.Memory = time.Minute, 1<<20
	if got != want {
		t.Errorf("resolve = %+v; want %+v", got, want)
	}
	if got := resolve(Limits{}, def, max); got != def {
		t.Errorf("resolve(zero) = %+v; want the defaults %+v", got, def)
	}
}

func TestConfig_withDefaults(t *testing.T) {
	c := (&Config{Defaults: Limits{Wall: time.Second}}).withDefaults()
	if c.Defaults.Wall != time.Second || c.Defaults.Memory != DefaultMemory {
		t.Errorf("Defaults = %+v", c.Defaults)
	}
	if c.Max != c.Defaults {
		t.Errorf("zero Max = %+v; want the defaults %+v", c.Max, c.Defaults)
	}
	if c.UIDRange != [2]int{DefaultUIDFirst, DefaultUIDLast} || c.StateDir == "" || c.Logger == nil {
		t.Errorf("withDefaults left zero fields: %+v", c)
	}
}

func TestUIDPool(t *testing.T) {
	p := newUIDPool([2]int{10, 12})
	a, b, c := p.get(), p.get(), p.get()
	if a != 10 || b != 11 || c != 12 || p.get() != -1 {
		t.Fatalf("got %d %d %d; want 10 11 12 then -1", a, b, c)
	}
	p.put(11)
	if u := p.get(); u != 11 {
		t.Errorf("after put(11): %d; want 11", u)
	}
}

func TestKillError(t *testing.T) {
	var err error = &KillError{Reason: "memory limit"}
	var ke *KillError
	if !errors.As(err, &ke) || err.Error() != "memory limit" {
		t.Errorf("KillError %v", err)
	}
}
