package jail

import (
	"encoding/binary"
	"fmt"
)

// ELF constants (elf.h).
const (
	elfClass64   = 2
	elfData2LSB  = 1
	elfTypeExec  = 2
	elfTypeDyn   = 3
	elfMachineX  = 62 // EM_X86_64
	elfPtInterp  = 3
	elfHdrSize   = 64
	elfPhdrSize  = 56
	elfMaxPhdrs  = 1 << 12
	elfPhdrTypeO = 0 // p_type offset in a program header
)

// checkELF accepts a static ELF64 little-endian x86-64 executable: ET_EXEC,
// or ET_DYN (static-pie) without PT_INTERP. The kernel does the rest of
// the validation at exec.
func checkELF(data []byte) error {
	bad := func(why string) error { return fmt.Errorf("%w: %s", ErrNotExecutable, why) }
	le := binary.LittleEndian
	switch {
	case len(data) < elfHdrSize || string(data[:4]) != "\x7fELF":
		return bad("not an ELF file")
	case data[4] != elfClass64:
		return bad("not ELF64 (32-bit binaries are refused)")
	case data[5] != elfData2LSB:
		return bad("not little-endian")
	case le.Uint16(data[18:]) != elfMachineX:
		return bad("not x86-64")
	}
	typ := le.Uint16(data[16:])
	if typ != elfTypeExec && typ != elfTypeDyn {
		return bad("not an executable (ET_EXEC or ET_DYN)")
	}
	phoff, phentsize, phnum := le.Uint64(data[32:]), uint64(le.Uint16(data[54:])), uint64(le.Uint16(data[56:]))
	if phnum == 0 || phnum > elfMaxPhdrs || phentsize < elfPhdrSize ||
		phoff >= uint64(len(data)) || phnum*phentsize > uint64(len(data))-phoff {
		return bad("bad program headers")
	}
	for i := range phnum {
		if le.Uint32(data[phoff+i*phentsize+elfPhdrTypeO:]) == elfPtInterp {
			return bad("dynamically linked (has PT_INTERP); build it static")
		}
	}
	return nil
}
