package store_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/lambdakv/lambdakv/store"
)

func TestPerm_String(t *testing.T) {
	tests := []struct {
		p    store.Perm
		want string
	}{
		{0, "---"},
		{store.PermR, "r--"},
		{store.PermR | store.PermW, "rw-"},
		{store.PermR | store.PermX, "r-x"},
		{store.PermR | store.PermW | store.PermX, "rwx"},
		{store.PermW | store.PermX, "-wx"},
		{8, "Perm(0x08)"},
		{0xff, "Perm(0xff)"},
	}
	for _, tt := range tests {
		if got := tt.p.String(); got != tt.want {
			t.Errorf("Perm(%d).String() = %q; want %q", uint8(tt.p), got, tt.want)
		}
	}
}

func TestParsePerm(t *testing.T) {
	tests := []struct {
		in      string
		want    store.Perm
		wantErr error
	}{
		{"r", store.PermR, nil},
		{"rw", store.PermR | store.PermW, nil},
		{"rx", store.PermR | store.PermX, nil},
		{"rwx", store.PermR | store.PermW | store.PermX, nil},
		{"r--", store.PermR, nil},
		{"rw-", store.PermR | store.PermW, nil},
		{"r-x", store.PermR | store.PermX, nil},
		{"w", 0, store.ErrPermRequired},
		{"wx", 0, store.ErrPermRequired},
		{"-wx", 0, store.ErrPermRequired},
		{"---", 0, store.ErrPermRequired},
		{"", 0, store.ErrBadPerm},
		{"xr", 0, store.ErrBadPerm},
		{"rr", 0, store.ErrBadPerm},
		{"rwxr", 0, store.ErrBadPerm},
		{"r-", 0, store.ErrBadPerm},
		{"w-x", 0, store.ErrBadPerm},
		{"RW", 0, store.ErrBadPerm},
		{"755", 0, store.ErrBadPerm},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := store.ParsePerm(tt.in)
			if !errors.Is(err, tt.wantErr) || got != tt.want {
				t.Errorf("ParsePerm(%q) = %v, %v; want %v, %v", tt.in, got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParsePerm_roundTrip(t *testing.T) {
	for p := store.Perm(0); p < 8; p++ {
		if p&store.PermR == 0 {
			continue
		}
		got, err := store.ParsePerm(p.String())
		if err != nil || got != p {
			t.Errorf("ParsePerm(%q) = %v, %v; want %v, nil", p.String(), got, err, p)
		}
	}
}

func TestPerm_Validate(t *testing.T) {
	for p := 0; p < 256; p++ {
		var want error
		switch {
		case p&^7 != 0:
			want = store.ErrBadPerm
		case p&1 == 0:
			want = store.ErrPermRequired
		}
		if err := store.Perm(p).Validate(); !errors.Is(err, want) || (want == nil) != (err == nil) {
			t.Errorf("Perm(%d).Validate() = %v; want %v", p, err, want)
		}
	}
}

func TestValidateKey(t *testing.T) {
	tests := []struct {
		name string
		key  string
		ok   bool
	}{
		{"simple", "a", true},
		{"hash tag", "{user1}.profile", true},
		{"binary", "\x01\xff\n", true},
		{"max length", strings.Repeat("k", store.MaxKeyLen), true},
		{"empty", "", false},
		{"too long", strings.Repeat("k", store.MaxKeyLen+1), false},
		{"NUL", "a\x00b", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := store.ValidateKey(tt.key)
			if tt.ok && err != nil {
				t.Errorf("ValidateKey = %v; want nil", err)
			}
			if !tt.ok && !errors.Is(err, store.ErrBadKey) {
				t.Errorf("ValidateKey = %v; want ErrBadKey", err)
			}
		})
	}
}
