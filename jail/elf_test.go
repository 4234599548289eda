package jail

import (
	"encoding/binary"
	"errors"
	"testing"
)

// elfHeader returns a minimal ELF header with one program header of type
// ptype; class 1 is ELF32, 2 is ELF64.
func elfHeader(class byte, machine, typ uint16, ptype uint32) []byte {
	b := make([]byte, 64+56)
	copy(b, "\x7fELF")
	b[4], b[5], b[6] = class, 1, 1
	le := binary.LittleEndian
	le.PutUint16(b[16:], typ)
	le.PutUint16(b[18:], machine)
	le.PutUint64(b[32:], 64) // e_phoff
	le.PutUint16(b[54:], 56) // e_phentsize
	le.PutUint16(b[56:], 1)  // e_phnum
	le.PutUint32(b[64:], ptype)
	return b
}

func TestCheckELF(t *testing.T) {
	const load, interp = 1, 3
	tests := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"static exec", elfHeader(2, 62, 2, load), true},
		{"static pie", elfHeader(2, 62, 3, load), true},
		{"dynamic", elfHeader(2, 62, 3, interp), false},
		{"i386", elfHeader(1, 3, 2, load), false},
		{"ELF32 x86-64 machine", elfHeader(1, 62, 2, load), false},
		{"arm64", elfHeader(2, 183, 2, load), false},
		{"relocatable", elfHeader(2, 62, 1, load), false},
		{"big endian", func() []byte { b := elfHeader(2, 62, 2, load); b[5] = 2; return b }(), false},
		{"truncated phdrs", elfHeader(2, 62, 2, load)[:80], false},
		{"script", []byte("#!/bin/sh\necho hi\n"), false},
		{"empty", nil, false},
		{"bad phnum", func() []byte {
			b := elfHeader(2, 62, 2, load)
			binary.LittleEndian.PutUint16(b[56:], 0xffff)
			return b
		}(), false},
	}
	for _, tt := range tests {
		err := checkELF(tt.data)
		if tt.ok && err != nil {
			t.Errorf("%s: %v; want ok", tt.name, err)
		}
		if !tt.ok && !errors.Is(err, ErrNotExecutable) {
			t.Errorf("%s: %v; want ErrNotExecutable", tt.name, err)
		}
	}
}

func FuzzCheckELF(f *testing.F) {
	f.Add(elfHeader(2, 62, 2, 1))
	f.Add(elfHeader(1, 3, 2, 1))
	f.Fuzz(func(t *testing.T, data []byte) {
		if err := checkELF(data); err != nil && !errors.Is(err, ErrNotExecutable) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}
