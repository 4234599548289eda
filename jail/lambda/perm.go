package lambda

import "strconv"

// Perm is the permission bit set of a key: [R], [W] and [X]. A key without W
// is immutable; every put needs R. The zero Perm grants nothing and is not a
// valid put permission. A Perm is a plain value, safe to copy and share.
type Perm uint8

// Permission bits, as on the wire (DESIGN §3), and the usual combinations.
const (
	R Perm = 1 // R lets the key be read; required on every put.
	W Perm = 2 // W lets the key be replaced or deleted; without it the key is immutable.
	X Perm = 4 // X lets the key be executed as a lambda.

	RW  = R | W     // RW is a mutable, readable key.
	RX  = R | X     // RX is an immutable lambda.
	RWX = R | W | X // RWX is a mutable lambda.
)

// valid reports whether p is allowed on a put: R set, nothing beyond R|W|X.
func (p Perm) valid() bool {
	return p&R != 0 && p&^RWX == 0
}

// String returns p the way lkv --perm spells it ("r", "rw", "rx", "rwx"),
// "-" for no bits, and "Perm(N)" when p has bits beyond R|W|X.
func (p Perm) String() string {
	if p&^RWX != 0 {
		return "Perm(" + strconv.Itoa(int(p)) + ")"
	}
	if p == 0 {
		return "-"
	}
	s := ""
	for _, b := range []struct {
		bit  Perm
		name string
	}{{R, "r"}, {W, "w"}, {X, "x"}} {
		if p&b.bit != 0 {
			s += b.name
		}
	}
	return s
}
