package jail

import (
	"encoding/binary"
	"fmt"
	"sort"
)

// A tiny classic-BPF assembler for seccomp filters: only what the policy
// needs (absolute 32-bit loads of seccomp_data, JEQ/JGE against constants,
// RET), every jump forward and resolved through labels, and one shared
// return instruction per action. Loading a filter costs the launcher
// about 0.2 µs per instruction (the kernel converts and JIT-compiles it on
// every run), so the assembler keeps programs short.

// BPF opcodes (linux/filter.h, linux/bpf_common.h).
const (
	bpfLdWAbs = 0x20 // BPF_LD | BPF_W | BPF_ABS
	bpfJeqK   = 0x15 // BPF_JMP | BPF_JEQ | BPF_K
	bpfJgeK   = 0x35 // BPF_JMP | BPF_JGE | BPF_K
	bpfRetK   = 0x06 // BPF_RET | BPF_K
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

// argRange is the half-open range [Lo, Hi) of an argument's low 32 bits.
type argRange struct{ Lo, Hi uint32 }

// argCond holds when the low 32 bits of argument Arg fall in one of
// Ranges. Only the low half is compared: the kernel reads int and flag
// arguments as 32 bits, so a deny rule on 64 bits could be dodged by
// setting high bits, and an allow rule on 64 bits would gain nothing.
type argCond struct {
	Arg    int
	Ranges []argRange
}

// vals is an argCond matching exactly the values vs.
func vals(arg int, vs ...uint32) argCond {
	c := argCond{Arg: arg}
	for _, v := range vs {
		c.Ranges = append(c.Ranges, argRange{v, v + 1})
	}
	return c
}

// span is a run of syscall numbers [lo, next span's lo) that share one
// outcome: action, or when conds is non-nil, ok if the conditions hold and
// otherwise action.
type span struct {
	lo     int
	action uint32
	conds  []argCond
	ok     uint32
}

// label names a place in the program; jumps to it are resolved at the
// end, when every label is placed.
type label int

const next label = -1 // the following instruction

// asm accumulates a program.
type asm struct {
	prog   []sockFilter
	places []int // label -> instruction index, -1 until placed
	fixups []fixup
	rets   map[uint32]label // shared return instruction per action
}

// fixup is a jump field waiting for its label.
type fixup struct {
	at    int
	jt    bool // the Jt field, else Jf
	label label
}

func newAsm() *asm { return &asm{rets: make(map[uint32]label)} }

func (a *asm) newLabel() label {
	a.places = append(a.places, -1)
	return label(len(a.places) - 1)
}

func (a *asm) place(l label) { a.places[l] = len(a.prog) }

func (a *asm) here() label {
	l := a.newLabel()
	a.place(l)
	return l
}

// ret returns the label of the shared "return action" instruction.
func (a *asm) ret(action uint32) label {
	l, ok := a.rets[action]
	if !ok {
		l = a.newLabel()
		a.rets[action] = l
	}
	return l
}

func (a *asm) emit(in sockFilter) { a.prog = append(a.prog, in) }

func (a *asm) ld(off uint32) { a.emit(sockFilter{Code: bpfLdWAbs, K: off}) }

// jmp emits a conditional jump to jt when true and jf when false.
func (a *asm) jmp(code uint16, k uint32, jt, jf label) {
	at := len(a.prog)
	a.emit(sockFilter{Code: code, K: k})
	for _, f := range []struct {
		jt bool
		l  label
	}{{true, jt}, {false, jf}} {
		if f.l != next {
			a.fixups = append(a.fixups, fixup{at, f.jt, f.l})
		}
	}
}

// finish appends the shared returns and resolves every jump.
func (a *asm) finish() ([]sockFilter, error) {
	actions := make([]uint32, 0, len(a.rets))
	for act := range a.rets {
		actions = append(actions, act)
	}
	sort.Slice(actions, func(i, j int) bool { return actions[i] < actions[j] })
	for _, act := range actions {
		a.place(a.rets[act])
		a.emit(sockFilter{Code: bpfRetK, K: act})
	}
	for _, f := range a.fixups {
		to := a.places[f.label]
		off := to - f.at - 1
		if to < 0 || off < 0 || off > 255 {
			return nil, fmt.Errorf("bpf: jump from %d to label %d (%d) out of range", f.at, f.label, to)
		}
		if f.jt {
			a.prog[f.at].Jt = uint8(off)
		} else {
			a.prog[f.at].Jf = uint8(off)
		}
	}
	if len(a.prog) > 4096 {
		return nil, fmt.Errorf("bpf: program of %d instructions is too long", len(a.prog))
	}
	return a.prog, nil
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
	a := newAsm()
	a.prog = append(a.prog,
		sockFilter{Code: bpfLdWAbs, K: offArch},
		sockFilter{Code: bpfJeqK, Jt: 1, K: arch},
		sockFilter{Code: bpfRetK, K: retKillProcess},
		sockFilter{Code: bpfLdWAbs, K: offNr},
		sockFilter{Code: bpfJgeK, Jf: 1, K: x32SyscallBit},
		sockFilter{Code: bpfRetK, K: retKillProcess},
	)
	if _, err := a.node(spans); err != nil {
		return nil, err
	}
	return a.finish()
}

// node emits the search subtree for spans (the accumulator holds the
// syscall number) and returns its label: the shared
// return for a plain span, otherwise the subtree's first instruction.
func (a *asm) node(spans []span) (label, error) {
	if len(spans) == 1 {
		s := spans[0]
		if s.conds == nil {
			return a.ret(s.action), nil
		}
		start := a.here()
		return start, a.cond(s.conds, a.ret(s.ok), a.ret(s.action))
	}
	mid := len(spans) / 2
	start := a.here()
	at := len(a.prog)
	a.emit(sockFilter{Code: bpfJgeK, K: uint32(spans[mid].lo)})
	left, err := a.node(spans[:mid])
	if err != nil {
		return 0, err
	}
	right, err := a.node(spans[mid:])
	if err != nil {
		return 0, err
	}
	a.fixups = append(a.fixups, fixup{at, true, right})
	if a.places[left] != at+1 {
		a.fixups = append(a.fixups, fixup{at, false, left})
	}
	return start, nil
}

// cond emits checks that jump to ok when every condition holds and to
// fail otherwise. Single values are tested with JEQ (so that the
// launcher can patch pidMagic), then ranges from the highest down:
// "value >= hi" means above this range and below the previous one (so,
// fail), "value >= lo" means inside it.
func (a *asm) cond(conds []argCond, ok, fail label) error {
	for i, c := range conds {
		if c.Arg < 0 || c.Arg > 5 || len(c.Ranges) == 0 {
			return fmt.Errorf("bpf: bad condition %+v", c)
		}
		pass := ok
		if i < len(conds)-1 {
			pass = a.newLabel()
		}
		a.ld(uint32(offArgs + 8*c.Arg))
		a.ranges(c.Ranges, pass, fail)
		if pass != ok {
			a.place(pass)
		}
	}
	return nil
}

// ranges emits the tests of one condition on the accumulator.
func (a *asm) ranges(rs []argRange, pass, fail label) {
	var singles, multi []argRange
	for _, r := range rs {
		if r.Hi == r.Lo+1 {
			singles = append(singles, r)
		} else {
			multi = append(multi, r)
		}
	}
	sort.Slice(multi, func(i, j int) bool { return multi[i].Lo > multi[j].Lo })
	last := func(i int, l []argRange) label {
		if i == len(l)-1 {
			return fail
		}
		return next
	}
	for i, r := range singles {
		below := label(next)
		if len(multi) == 0 {
			below = last(i, singles)
		}
		a.jmp(bpfJeqK, r.Lo, pass, below)
	}
	for i, r := range multi {
		a.jmp(bpfJgeK, r.Hi, fail, next)
		a.jmp(bpfJgeK, r.Lo, pass, last(i, multi))
	}
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

// evalFilter runs prog on d the way the kernel would, for tests. It
// supports exactly the instructions the assembler emits.
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
