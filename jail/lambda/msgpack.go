package lambda

import (
	"errors"
	"fmt"
	"io"
	"math"

	"github.com/vmihailenco/msgpack/v5"
	"github.com/vmihailenco/msgpack/v5/msgpcode"
)

// maxDepth bounds how deeply nested an unknown field may be before the
// decoders give up, so hostile input cannot exhaust the stack.
const maxDepth = 32

// chunk is how much the decoders allocate at a time when they cannot tell
// how many bytes are left in the input.
const chunk = 1 << 20

// Type classes of a msgpack first byte.

func isStr(c byte) bool {
	return msgpcode.IsFixedString(c) || c == msgpcode.Str8 || c == msgpcode.Str16 || c == msgpcode.Str32
}

func isBin(c byte) bool {
	return c == msgpcode.Bin8 || c == msgpcode.Bin16 || c == msgpcode.Bin32
}

func isMap(c byte) bool {
	return msgpcode.IsFixedMap(c) || c == msgpcode.Map16 || c == msgpcode.Map32
}

func isArray(c byte) bool {
	return msgpcode.IsFixedArray(c) || c == msgpcode.Array16 || c == msgpcode.Array32
}

func isInt(c byte) bool {
	return msgpcode.IsFixedNum(c) || (c >= msgpcode.Uint8 && c <= msgpcode.Uint64) ||
		(c >= msgpcode.Int8 && c <= msgpcode.Int64)
}

// typeName names the msgpack type that starts with c, for error messages.
func typeName(c byte) string {
	switch {
	case c == msgpcode.Nil:
		return "nil"
	case c == msgpcode.True || c == msgpcode.False:
		return "bool"
	case isInt(c):
		return "int"
	case c == msgpcode.Float || c == msgpcode.Double:
		return "float"
	case isStr(c):
		return "str"
	case isBin(c):
		return "bin"
	case isArray(c):
		return "array"
	case isMap(c):
		return "map"
	case msgpcode.IsExt(c):
		return "ext"
	}
	return fmt.Sprintf("invalid code 0x%02x", c)
}

// peek returns the first byte of the next value; end of input is
// io.ErrUnexpectedEOF because the decoders only peek where a value must be.
func peek(d *msgpack.Decoder) (byte, error) {
	c, err := d.PeekCode()
	if errors.Is(err, io.EOF) {
		return 0, io.ErrUnexpectedEOF
	}
	return c, err
}

// remaining returns how many input bytes are left, if the reader knows.
func remaining(d *msgpack.Decoder) (int, bool) {
	l, ok := d.Buffered().(interface{ Len() int })
	if !ok {
		return 0, false
	}
	return l.Len(), true
}

// checkCount refuses a container header that declares more elements than
// the input can hold, each element taking at least minSize bytes.
func checkCount(d *msgpack.Decoder, n, minSize int) error {
	if left, ok := remaining(d); ok && n > left/minSize {
		return fmt.Errorf("%d elements declared, %d bytes left", n, left)
	}
	return nil
}

// sizeHint caps a declared element count before it is used to size an
// allocation.
func sizeHint(n int) int {
	return min(n, 1024)
}

// readMapLen reads a map header; nil reads as an empty map.
func readMapLen(d *msgpack.Decoder) (int, error) {
	c, err := peek(d)
	if err != nil {
		return 0, err
	}
	if c == msgpcode.Nil {
		return 0, d.Skip()
	}
	if !isMap(c) {
		return 0, fmt.Errorf("got %s, want map", typeName(c))
	}
	n, err := d.DecodeMapLen()
	if err != nil {
		return 0, err
	}
	return n, checkCount(d, n, 2)
}

// readArrayLen reads an array header; nil reads as an empty array.
func readArrayLen(d *msgpack.Decoder) (int, error) {
	c, err := peek(d)
	if err != nil {
		return 0, err
	}
	if c == msgpcode.Nil {
		return 0, d.Skip()
	}
	if !isArray(c) {
		return 0, fmt.Errorf("got %s, want array", typeName(c))
	}
	n, err := d.DecodeArrayLen()
	if err != nil {
		return 0, err
	}
	return n, checkCount(d, n, 1)
}

// readString reads a str (never a bin: keys and paths are text on the wire).
func readString(d *msgpack.Decoder) (string, error) {
	c, err := peek(d)
	if err != nil {
		return "", err
	}
	if !isStr(c) {
		return "", fmt.Errorf("got %s, want str", typeName(c))
	}
	b, err := readRaw(d)
	return string(b), err
}

// readBytes reads a bin, or a str, or nil as an empty byte string. The
// result may alias the decoder's input.
func readBytes(d *msgpack.Decoder) ([]byte, error) {
	c, err := peek(d)
	if err != nil {
		return nil, err
	}
	if c == msgpcode.Nil {
		return nil, d.Skip()
	}
	if !isBin(c) && !isStr(c) {
		return nil, fmt.Errorf("got %s, want bin", typeName(c))
	}
	return readRaw(d)
}

// readRaw reads a str or bin header and its bytes. A length larger than the
// input left is refused before allocating; when the reader cannot say how
// much is left, memory grows only as bytes actually arrive.
func readRaw(d *msgpack.Decoder) ([]byte, error) {
	n, err := d.DecodeBytesLen()
	if err != nil {
		return nil, err
	}
	if sr, ok := d.Buffered().(*sliceReader); ok {
		return sr.next(n)
	}
	if left, ok := remaining(d); ok && n > left {
		return nil, fmt.Errorf("%d bytes declared, %d left", n, left)
	}
	b := make([]byte, 0, min(n, chunk))
	for len(b) < n {
		k := min(n-len(b), chunk)
		b = append(b, make([]byte, k)...)
		if err := d.ReadFull(b[len(b)-k:]); err != nil {
			return nil, noEOF(err)
		}
	}
	return b, nil
}

// readInt reads an integer that must lie in [lo, hi].
func readInt(d *msgpack.Decoder, lo, hi int64) (int64, error) {
	c, err := peek(d)
	if err != nil {
		return 0, err
	}
	if !isInt(c) {
		return 0, fmt.Errorf("got %s, want int", typeName(c))
	}
	var v int64
	if c == msgpcode.Uint64 {
		u, err := d.DecodeUint64()
		if err != nil {
			return 0, err
		}
		if u > math.MaxInt64 {
			return 0, fmt.Errorf("%d out of range [%d, %d]", u, lo, hi)
		}
		v = int64(u)
	} else if v, err = d.DecodeInt64(); err != nil {
		return 0, err
	}
	if v < lo || v > hi {
		return 0, fmt.Errorf("%d out of range [%d, %d]", v, lo, hi)
	}
	return v, nil
}

// skipValue skips one value of any type, refusing nesting deeper than
// maxDepth. Containers and byte strings are walked here, not by msgpack's
// Skip, which recurses without a bound and grows the pooled decoder's
// buffer to the declared length of what it skips.
func skipValue(d *msgpack.Decoder, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("nested deeper than %d levels", maxDepth)
	}
	c, err := peek(d)
	if err != nil {
		return err
	}
	var n int
	switch {
	case isMap(c):
		n, err = readMapLen(d)
		n *= 2
	case isArray(c):
		n, err = readArrayLen(d)
	case isStr(c) || isBin(c):
		if n, err = d.DecodeBytesLen(); err == nil {
			err = discard(d, n)
		}
		return noEOF(err)
	case msgpcode.IsExt(c):
		if _, n, err = d.DecodeExtHeader(); err == nil {
			err = discard(d, n)
		}
		return noEOF(err)
	default: // scalars: at most 9 bytes
		return noEOF(d.Skip())
	}
	for i := 0; i < n && err == nil; i++ {
		err = skipValue(d, depth+1)
	}
	return err
}

// discard skips n bytes of input without allocating them.
func discard(d *msgpack.Decoder, n int) error {
	if sr, ok := d.Buffered().(*sliceReader); ok {
		_, err := sr.next(n)
		return err
	}
	if left, ok := remaining(d); ok && n > left {
		return io.ErrUnexpectedEOF
	}
	var scratch [4096]byte
	for n > 0 {
		k := min(n, len(scratch))
		if err := d.ReadFull(scratch[:k]); err != nil {
			return err
		}
		n -= k
	}
	return nil
}

// noEOF turns io.EOF in the middle of a value into io.ErrUnexpectedEOF.
func noEOF(err error) error {
	if errors.Is(err, io.EOF) {
		return io.ErrUnexpectedEOF
	}
	return err
}

// fieldSet records which known fields of a map were seen, to refuse
// duplicates and report missing ones.
type fieldSet uint8

// add marks field i as seen and fails if it was seen before.
func (s *fieldSet) add(i int, name string) error {
	if *s&(1<<i) != 0 {
		return fmt.Errorf("duplicate field %q", name)
	}
	*s |= 1 << i
	return nil
}

// encodeBytes writes b as a bin, nil as an empty bin.
func encodeBytes(e *msgpack.Encoder, b []byte) error {
	if err := checkLen(len(b)); err != nil {
		return err
	}
	if err := e.EncodeBytesLen(len(b)); err != nil {
		return err
	}
	_, err := e.Writer().Write(b)
	return err
}

// encodeString writes s as a str.
func encodeString(e *msgpack.Encoder, s string) error {
	if err := checkLen(len(s)); err != nil {
		return err
	}
	return e.EncodeString(s)
}

// checkLen refuses lengths msgpack cannot express (it would truncate them).
func checkLen(n int) error {
	if uint64(n) > math.MaxUint32 {
		return fmt.Errorf("length %d exceeds msgpack's 4 GiB limit", n)
	}
	return nil
}
