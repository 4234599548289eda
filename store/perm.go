package store

import (
	"fmt"
	"strings"
)

// Perm is the permission bitmask a key carries: PermR, PermW and PermX.
// A key without PermW is immutable. The zero Perm has no bits and is not a
// valid permission for a put. Perm is a plain value, safe to share.
type Perm uint8

// Permission bits (DESIGN §3).
const (
	// PermR allows reading. Every stored key has it.
	PermR Perm = 1
	// PermW allows replacing and deleting. A key without it is immutable.
	PermW Perm = 2
	// PermX marks an executable (a lambda).
	PermX Perm = 4

	permMask = PermR | PermW | PermX
)

// String renders p as "rwx", "r-x", "rw-" or "r--" style text. A Perm with
// bits outside rwx renders as "Perm(0xNN)".
func (p Perm) String() string {
	if p&^permMask != 0 {
		return fmt.Sprintf("Perm(%#02x)", uint8(p))
	}
	b := []byte("---")
	if p&PermR != 0 {
		b[0] = 'r'
	}
	if p&PermW != 0 {
		b[1] = 'w'
	}
	if p&PermX != 0 {
		b[2] = 'x'
	}
	return string(b)
}

// Writable reports whether p has PermW, that is whether a key with p is
// mutable.
func (p Perm) Writable() bool { return p&PermW != 0 }

// Executable reports whether p has PermX.
func (p Perm) Executable() bool { return p&PermX != 0 }

// Validate reports whether p may be stored: ErrBadPerm if it has bits other
// than rwx, ErrPermRequired if it lacks PermR.
func (p Perm) Validate() error {
	if p&^permMask != 0 {
		return fmt.Errorf("%w: %#02x has bits other than rwx", ErrBadPerm, uint8(p))
	}
	if p&PermR == 0 {
		return fmt.Errorf("%w: got %s", ErrPermRequired, p)
	}
	return nil
}

// ParsePerm parses a permission as written on the command line: the letters
// r, w, x in that order, each at most once ("r", "rw", "rx", "rwx"), or the
// three-character form String produces ("r--", "rw-", "r-x", "rwx"). It
// returns ErrBadPerm for anything else and ErrPermRequired when r is
// missing, so a successful result is always valid for Put.
func ParsePerm(s string) (Perm, error) {
	p, ok := parsePermLetters(s)
	if !ok {
		return 0, fmt.Errorf("%w: %q (want r, rw, rx or rwx)", ErrBadPerm, s)
	}
	if err := p.Validate(); err != nil {
		return 0, err
	}
	return p, nil
}

// parsePermLetters accepts an ordered subset of "rwx" ("rx"), or the
// three-character form with '-' for a missing bit ("r-x").
func parsePermLetters(s string) (Perm, bool) {
	if len(s) == 3 && strings.Contains(s, "-") {
		var p Perm
		for i := range 3 {
			switch s[i] {
			case "rwx"[i]:
				p |= 1 << i
			case '-':
			default:
				return 0, false
			}
		}
		return p, true
	}
	if s == "" || len(s) > 3 {
		return 0, false
	}
	var p Perm
	next := 0 // letters before "rwx"[next] are used up
	for i := 0; i < len(s); i++ {
		j := strings.IndexByte("rwx"[next:], s[i])
		if j < 0 {
			return 0, false
		}
		p |= 1 << (next + j)
		next += j + 1
	}
	return p, true
}

// MaxKeyLen is the longest key, in bytes (DESIGN §3).
const MaxKeyLen = 16 << 10

// ValidateKey reports whether key may be stored: it must be non-empty, at
// most MaxKeyLen bytes long and contain no NUL byte. The error wraps
// ErrBadKey. It is safe for concurrent use.
func ValidateKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("%w: empty", ErrBadKey)
	case len(key) > MaxKeyLen:
		return fmt.Errorf("%w: %d bytes, limit %d", ErrBadKey, len(key), MaxKeyLen)
	case strings.IndexByte(key, 0) >= 0:
		return fmt.Errorf("%w: contains a NUL byte", ErrBadKey)
	}
	return nil
}
