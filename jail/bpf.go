package jail

import (
	"encoding/binary"
	"fmt"
)

// A tiny classic-BPF assembler for seccomp filters: only what the policy
// needs (absolute 32-bit loads of seccomp_data, JEQ/JGE against constants,
// JA, RET), with every jump forward.

// BPF opcodes (linux/filter.h, linux/bpf_common.h).
const (
	bpfLdWAbs = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgeK   = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfRetK   = 0x06 // BPF_RET | BPF_K
	bpfJa     = 0x05 // BPF_JMP | BPF_JA
)

// Seccomp return values (linux/seccomp.h).
const (
	retKillProcess = 0x80000000
	retErrno       = 0x00050000
	retTrace       = 0x7ff00000
	retAllow       = 0x7fff0000
)

// x32SyscallBit marks x32 syscall numbers on x86-64 (__X32_SYSCALL_BIT).
const x32SyscallBit = 0x40000000

// Offsets in struct seccomp_data.
const (
	offNr   = 0
	offArch = 4
	offArgs = 16 // args[i] at offArgs+8*i; the low 32 bits come first (little endian)
)

// sockFilter is struct sock_filter.
type sockFilter struct {
	Code   uint16
	Jt, Jf uint8
	K      uint32
}

func ld(off uint32) sockFilter              { return sockFilter{Code: bpfLdWAbs, K: off} }
func ja(k uint32) sockFilter                { return sockFilter{Code: bpfJa, K: k} }
func ret(k uint32) sockFilter               { return sockFilter{Code: bpfRetK, K: k} }
func jeq(k uint32, jt, jf uint8) sockFilter { return sockFilter{Code: bpfJeqK, Jt: jt, Jf: jf, K: k} }
func jge(k uint32, jt, jf uint8) sockFilter { return sockFilter{Code: bpfJgeK, Jt: jt, Jf: jf, K: k} }

// argCond holds when the low 32 bits of argument Arg equal one of Vals.
// Only the low half is compared: the kernel reads int and flag arguments
// as 32 bits, so a deny rule on 64 bits could be dodged by setting high
// bits, and an allow rule on 64 bits would gain nothing.
type argCond struct {
	Arg  int
	Vals []uint32
}

// condBlock returns the instructions that return ok when every cond
// holds and otherwise, else. The accumulator holds the syscall number on
// entry and is clobbered.
func condBlock(conds []argCond, ok, otherwise uint32) ([]sockFilter, error) {
	var out []sockFilter
	for _, c := range conds {
		n := len(c.Vals)
		if c.Arg < 0 || c.Arg > 5 || n == 0 || n > 200 {
			return nil, fmt.Errorf("bpf: bad condition %+v", c)
		}
		out = append(out, ld(uint32(offArgs+8*c.Arg)))
		for i, v := range c.Vals {
			// On a match skip the remaining compares and the "ret
			// otherwise" that ends this condition.
			out = append(out, jeq(v, uint8(n-i), 0))
		}
		out = append(out, ret(otherwise))
	}
	return append(out, ret(ok)), nil
}

// span is a run of syscall numbers [lo, next span's lo) that share one
// action: a plain return, or a block that looks at arguments.
type span struct {
	lo     int
	action uint32       // when block is nil
	block  []sockFilter // ends in returns; the accumulator holds nr on entry
}

// assemble returns a filter that kills other architectures and x32
// numbers, then finds the span of the syscall number by binary search
// (about 9 comparisons for the whole table, which also keeps the kernel's
// per-syscall verdict cache cheap to compute when the filter is loaded).
// spans must be sorted by lo, start at 0, and cover every number above.
func assemble(arch uint32, spans []span) ([]sockFilter, error) {
	if len(spans) == 0 || spans[0].lo != 0 {
		return nil, fmt.Errorf("bpf: spans must start at 0")
	}
	prog := []sockFilter{
		ld(offArch),
		jeq(arch, 1, 0),
		ret(retKillProcess),
		ld(offNr),
		jge(x32SyscallBit, 0, 1),
		ret(retKillProcess),
	}
	prog = append(prog, tree(spans)...)
	if len(prog) > 4096 {
		return nil, fmt.Errorf("bpf: program of %d instructions is too long", len(prog))
	}
	return prog, nil
}

// tree returns the search tree over spans. Every jump is forward; a left
// subtree too long for an 8-bit jump is skipped with a BPF_JA.
func tree(spans []span) []sockFilter {
	if len(spans) == 1 {
		if spans[0].block != nil {
			return spans[0].block
		}
		return []sockFilter{ret(spans[0].action)}
	}
	mid := len(spans) / 2
	left, right := tree(spans[:mid]), tree(spans[mid:])
	k := uint32(spans[mid].lo)
	var out []sockFilter
	if len(left) <= 255 {
		out = append(out, jge(k, uint8(len(left)), 0))
	} else {
		out = append(out, jge(k, 0, 1), ja(uint32(len(left))))
	}
	out = append(out, left...)
	return append(out, right...)
}

// encodeFilter returns prog as the bytes of a struct sock_filter array.
func encodeFilter(prog []sockFilter) []byte {
	out := make([]byte, 0, 8*len(prog))
	for _, in := range prog {
		out = binary.LittleEndian.AppendUint16(out, in.Code)
		out = append(out, in.Jt, in.Jf)
		out = binary.LittleEndian.AppendUint32(out, in.K)
	}
	return out
}

// seccompData is struct seccomp_data, for the filter interpreter in tests.
type seccompData struct {
	Nr   int32
	Arch uint32
	Args [6]uint64
}

// evalFilter runs prog on d the way the kernel would, for tests and for
// the policy table check at Start. It supports exactly the instructions
// the builder emits.
func evalFilter(prog []sockFilter, d seccompData) (uint32, error) {
	var acc uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case bpfLdWAbs:
			v, err := d.load(in.K)
			if err != nil {
				return 0, err
			}
			acc = v
		case bpfJeqK:
			pc += int(pick(acc == in.K, in.Jt, in.Jf))
		case bpfJgeK:
			pc += int(pick(acc >= in.K, in.Jt, in.Jf))
		case bpfJa:
			pc += int(in.K)
		case bpfRetK:
			return in.K, nil
		default:
			return 0, fmt.Errorf("bpf: unknown opcode %#x at %d", in.Code, pc)
		}
	}
	return 0, fmt.Errorf("bpf: fell off the end")
}

func pick(c bool, a, b uint8) uint8 {
	if c {
		return a
	}
	return b
}

// load reads the 32-bit word at off in d.
func (d seccompData) load(off uint32) (uint32, error) {
	switch {
	case off == offNr:
		return uint32(d.Nr), nil
	case off == offArch:
		return d.Arch, nil
	case off >= offArgs && off < offArgs+48 && off%4 == 0:
		a := d.Args[(off-offArgs)/8]
		if (off-offArgs)%8 == 4 {
			return uint32(a >> 32), nil
		}
		return uint32(a), nil
	}
	return 0, fmt.Errorf("bpf: bad load offset %d", off)
}
