package lambda_test

import (
	"bytes"
	"testing"

	"github.com/vmihailenco/msgpack/v5"
)

// mp builds raw msgpack for tests: each argument is appended as is when it
// is a byte or []byte, as a msgpack str when it is a string, and as a
// msgpack value via the library otherwise.
func mp(t testing.TB, parts ...any) []byte {
	t.Helper()
	var buf bytes.Buffer
	e := msgpack.NewEncoder(&buf)
	for _, p := range parts {
		var err error
		switch v := p.(type) {
		case byte:
			err = buf.WriteByte(v)
		case []byte:
			_, err = buf.Write(v)
		case string:
			err = e.EncodeString(v)
		default:
			err = e.Encode(v)
		}
		if err != nil {
			t.Fatalf("mp(%v): %v", p, err)
		}
	}
	return buf.Bytes()
}

// Msgpack type bytes used by the tests.
const (
	fixmap0   byte = 0x80
	fixarray0 byte = 0x90
	mpNil     byte = 0xc0
	mpTrue    byte = 0xc3
	bin8      byte = 0xc4
	bin32     byte = 0xc6
	f64       byte = 0xcb
	u64       byte = 0xcf
	str32     byte = 0xdb
	array32   byte = 0xdd
	map32     byte = 0xdf
)

// binOf encodes b as a msgpack bin8 (len(b) < 256).
func binOf(b string) []byte {
	return append([]byte{bin8, byte(len(b))}, b...)
}
