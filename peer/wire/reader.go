package wire

import (
	"errors"
	"fmt"
	"math"

	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// maxItems bounds the array elements one message may hold in total. Every
// length read from the frame is also checked against the bytes that remain,
// so a small frame can never make the decoder allocate much more than its
// own size; this bound caps the rest (a 1-byte element can decode into a
// 40-byte struct).
const maxItems = 1 << 20

var (
	errTruncated = errors.New("truncated")
	errTooMany   = fmt.Errorf("more than %d array elements in one message", maxItems)
)

// reader reads msgpack values from a byte slice, without reflection and
// without copying: strings and binaries are slices of the input. It never
// recurses, so nesting depth cannot exhaust the stack, and it checks every
// declared length against the bytes that remain before using it. The msgpack
// library's Decoder does neither (its Skip recurses, and it preallocates
// slices from declared lengths).
type reader struct {
	b     []byte
	off   int
	items int // array elements still allowed in this message
}

func (r *reader) reset(b []byte) { r.b, r.off, r.items = b, 0, maxItems }

// len returns the number of unread bytes.
func (r *reader) len() int { return len(r.b) - r.off }

func (r *reader) peek() (byte, error) {
	if r.off >= len(r.b) {
		return 0, errTruncated
	}
	return r.b[r.off], nil
}

func (r *reader) code() (byte, error) {
	c, err := r.peek()
	if err == nil {
		r.off++
	}
	return c, err
}

// next returns the next n bytes as a slice of the input whose capacity ends
// at its length, so that appending to it cannot overwrite the frame.
func (r *reader) next(n uint64) ([]byte, error) {
	if n > uint64(r.len()) {
		return nil, errTruncated
	}
	b := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return b, nil
}

// be reads an n-byte big-endian unsigned integer.
func (r *reader) be(n uint64) (uint64, error) {
	b, err := r.next(n)
	var v uint64
	for _, c := range b {
		v = v<<8 | uint64(c)
	}
	return v, err
}

// nilNext consumes a nil and reports whether there was one.
func (r *reader) nilNext() bool {
	if c, err := r.peek(); err == nil && c == msgpcode.Nil {
		r.off++
		return true
	}
	return false
}

// integer reads any msgpack integer. When neg is true, int64(v) is the
// (negative) value. A nil reads as 0.
func (r *reader) integer() (v uint64, neg bool, err error) {
	c, err := r.code()
	switch {
	case err != nil:
		return 0, false, err
	case c <= msgpcode.PosFixedNumHigh:
		return uint64(c), false, nil
	case c >= msgpcode.NegFixedNumLow:
		return uint64(int64(int8(c))), true, nil
	}
	switch c {
	case msgpcode.Nil:
		return 0, false, nil
	case msgpcode.Uint8, msgpcode.Uint16, msgpcode.Uint32, msgpcode.Uint64:
		v, err = r.be(1 << (c - msgpcode.Uint8))
		return v, false, err
	case msgpcode.Int8, msgpcode.Int16, msgpcode.Int32, msgpcode.Int64:
		size := uint64(1) << (c - msgpcode.Int8)
		v, err = r.be(size)
		shift := 64 - 8*size // sign-extend
		v = uint64(int64(v<<shift) >> shift)
		return v, int64(v) < 0, err
	}
	return 0, false, fmt.Errorf("want an integer, got %s", typeName(c))
}

// uint reads an integer in [0, max].
func (r *reader) uint(max uint64) (uint64, error) {
	v, neg, err := r.integer()
	if err == nil && (neg || v > max) {
		err = fmt.Errorf("%s out of range [0, %d]", intString(v, neg), max)
	}
	return v, err
}

// int reads an integer in [min, max].
func (r *reader) int(min, max int64) (int64, error) {
	v, neg, err := r.integer()
	if err == nil && ((!neg && v > math.MaxInt64) || int64(v) < min || int64(v) > max) {
		err = fmt.Errorf("%s out of range [%d, %d]", intString(v, neg), min, max)
	}
	return int64(v), err
}

func intString(v uint64, neg bool) string {
	if neg {
		return fmt.Sprint(int64(v))
	}
	return fmt.Sprint(v)
}

// bool reads a bool; a nil reads as false.
func (r *reader) bool() (bool, error) {
	c, err := r.code()
	switch {
	case err != nil:
		return false, err
	case c == msgpcode.True:
		return true, nil
	case c == msgpcode.False || c == msgpcode.Nil:
		return false, nil
	}
	return false, fmt.Errorf("want a bool, got %s", typeName(c))
}

// bytes reads a bin or a str as a slice of the input. A nil reads as a nil
// slice; an empty bin or str as a non-nil empty slice.
func (r *reader) bytes() ([]byte, error) {
	c, err := r.code()
	if err != nil {
		return nil, err
	}
	var n uint64
	switch {
	case msgpcode.IsFixedString(c):
		n = uint64(c & msgpcode.FixedStrMask)
	case c == msgpcode.Str8 || c == msgpcode.Bin8:
		n, err = r.be(1)
	case c == msgpcode.Str16 || c == msgpcode.Bin16:
		n, err = r.be(2)
	case c == msgpcode.Str32 || c == msgpcode.Bin32:
		n, err = r.be(4)
	case c == msgpcode.Nil:
		return nil, nil
	default:
		return nil, fmt.Errorf("want a str or bin, got %s", typeName(c))
	}
	if err != nil {
		return nil, err
	}
	return r.next(n)
}

// str reads a str (or bin) as a string; a nil reads as "".
func (r *reader) str() (string, error) {
	b, err := r.bytes()
	return string(b), err
}

// key reads a map key: a str (or bin), never nil.
func (r *reader) key() ([]byte, error) {
	if c, err := r.peek(); err == nil && c == msgpcode.Nil {
		return nil, errors.New("want a str, got nil")
	}
	return r.bytes()
}

// arrayLen reads an array header; a nil reads as -1. The length is checked
// against the bytes left (every element takes at least one) and against
// the message's element budget.
func (r *reader) arrayLen() (int, error) {
	c, err := r.code()
	var n uint64
	switch {
	case err != nil:
		return 0, err
	case msgpcode.IsFixedArray(c):
		n = uint64(c & msgpcode.FixedArrayMask)
	case c == msgpcode.Array16:
		n, err = r.be(2)
	case c == msgpcode.Array32:
		n, err = r.be(4)
	case c == msgpcode.Nil:
		return -1, nil
	default:
		return 0, fmt.Errorf("want an array, got %s", typeName(c))
	}
	switch {
	case err != nil:
		return 0, err
	case n > uint64(r.len()):
		return 0, errTruncated
	case n > uint64(r.items):
		return 0, errTooMany
	}
	r.items -= int(n)
	return int(n), nil
}

// mapLen reads a map header; a nil reads as -1. The length is checked
// against the bytes left (every entry takes at least two).
func (r *reader) mapLen() (int, error) {
	c, err := r.code()
	var n uint64
	switch {
	case err != nil:
		return 0, err
	case msgpcode.IsFixedMap(c):
		n = uint64(c & msgpcode.FixedMapMask)
	case c == msgpcode.Map16:
		n, err = r.be(2)
	case c == msgpcode.Map32:
		n, err = r.be(4)
	case c == msgpcode.Nil:
		return -1, nil
	default:
		return 0, fmt.Errorf("want a map, got %s", typeName(c))
	}
	if err == nil && 2*n > uint64(r.len()) {
		err = errTruncated
	}
	return int(n), err
}

// skip skips one value of any type. It keeps a count of the values still to
// skip instead of recursing, so deep nesting costs no stack.
func (r *reader) skip() error {
	for pending := uint64(1); pending > 0; pending-- {
		body, values, err := r.skipHeader()
		if err != nil {
			return err
		}
		if _, err := r.next(body); err != nil {
			return err
		}
		// Every value still pending takes at least one byte.
		if pending-1+values > uint64(r.len()) {
			return errTruncated
		}
		pending += values
	}
	return nil
}

// skipHeader reads the header of one value and returns the number of bytes
// of its body and the number of values nested in it.
func (r *reader) skipHeader() (body, values uint64, err error) {
	c, err := r.code()
	switch {
	case err != nil:
		return 0, 0, err
	case c <= msgpcode.PosFixedNumHigh || c >= msgpcode.NegFixedNumLow:
		return 0, 0, nil
	case msgpcode.IsFixedMap(c):
		return 0, 2 * uint64(c&msgpcode.FixedMapMask), nil
	case msgpcode.IsFixedArray(c):
		return 0, uint64(c & msgpcode.FixedArrayMask), nil
	case msgpcode.IsFixedString(c):
		return uint64(c & msgpcode.FixedStrMask), 0, nil
	}
	switch c {
	case msgpcode.Nil, msgpcode.False, msgpcode.True:
		return 0, 0, nil
	case msgpcode.Uint8, msgpcode.Uint16, msgpcode.Uint32, msgpcode.Uint64:
		return 1 << (c - msgpcode.Uint8), 0, nil
	case msgpcode.Int8, msgpcode.Int16, msgpcode.Int32, msgpcode.Int64:
		return 1 << (c - msgpcode.Int8), 0, nil
	case msgpcode.Float:
		return 4, 0, nil
	case msgpcode.Double:
		return 8, 0, nil
	case msgpcode.FixExt1, msgpcode.FixExt2, msgpcode.FixExt4, msgpcode.FixExt8, msgpcode.FixExt16:
		return 1 + 1<<(c-msgpcode.FixExt1), 0, nil // type byte + data
	case msgpcode.Str8, msgpcode.Bin8, msgpcode.Ext8:
		body, err = r.be(1)
	case msgpcode.Str16, msgpcode.Bin16, msgpcode.Ext16:
		body, err = r.be(2)
	case msgpcode.Str32, msgpcode.Bin32, msgpcode.Ext32:
		body, err = r.be(4)
	case msgpcode.Array16:
		values, err = r.be(2)
	case msgpcode.Array32:
		values, err = r.be(4)
	case msgpcode.Map16:
		values, err = r.be(2)
		values *= 2
	case msgpcode.Map32:
		values, err = r.be(4)
		values *= 2
	default:
		return 0, 0, fmt.Errorf("invalid msgpack code %#02x", c)
	}
	if msgpcode.IsExt(c) {
		body++ // the ext type byte
	}
	return body, values, err
}

// typeName names the msgpack type that code c starts, for error messages.
func typeName(c byte) string {
	switch {
	case msgpcode.IsFixedNum(c), c >= msgpcode.Uint8 && c <= msgpcode.Int64:
		return "an integer"
	case msgpcode.IsFixedMap(c), c == msgpcode.Map16, c == msgpcode.Map32:
		return "a map"
	case msgpcode.IsFixedArray(c), c == msgpcode.Array16, c == msgpcode.Array32:
		return "an array"
	case msgpcode.IsString(c):
		return "a str"
	case msgpcode.IsBin(c):
		return "a bin"
	case msgpcode.IsExt(c):
		return "an ext"
	}
	switch c {
	case msgpcode.Nil:
		return "nil"
	case msgpcode.True, msgpcode.False:
		return "a bool"
	case msgpcode.Float, msgpcode.Double:
		return "a float"
	}
	return fmt.Sprintf("invalid code %#02x", c)
}
