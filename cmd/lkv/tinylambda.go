package main

import (
	"bytes"
	"encoding/binary"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

// benchLambdaKey is where lkv bench exec uploads its own trivial lambda.
const benchLambdaKey = "lkv-bench:noop"

// noopLambda returns the lambda lkv bench exec runs when no --lambda is
// given: a runtime-mode lambda that answers an empty success.
func noopLambda() []byte {
	var resp bytes.Buffer
	if err := lambda.EncodeResponse(&resp, &lambda.Response{}); err != nil {
		panic("encode the empty response: " + err.Error()) // cannot fail
	}
	return tinyLambda(resp.Bytes())
}

// tinyLambda returns a minimal static x86-64 Linux executable that reads
// stdin to its end, writes out to stdout and exits 0: the cheapest
// possible lambda, so that a benchmark measures the execution path (client,
// node, sandbox, response) rather than the lambda. It is assembled here,
// about 250 bytes, rather than embedded as an opaque blob. It uses only
// read, write and exit_group.
func tinyLambda(out []byte) []byte {
	const (
		base    = 0x400000
		ehSize  = 64
		phSize  = 56
		phCount = 2
		codeOff = ehSize + phCount*phSize
	)
	n := uint32(len(out))
	code := []byte{
		0x48, 0x81, 0xec, 0x00, 0x10, 0x00, 0x00, // sub rsp, 4096
		// loop: read(0, rsp, 4096) until it returns <= 0
		0x31, 0xc0, // xor eax, eax        (SYS_read)
		0x31, 0xff, // xor edi, edi        (fd 0)
		0x48, 0x89, 0xe6, // mov rsi, rsp
		0xba, 0x00, 0x10, 0x00, 0x00, // mov edx, 4096
		0x0f, 0x05, // syscall
		0x48, 0x85, 0xc0, // test rax, rax
		0x7f, 0xed, // jg loop (-19)
		// write(1, msg, len(msg))
		0xb8, 0x01, 0x00, 0x00, 0x00, // mov eax, 1 (SYS_write)
		0xbf, 0x01, 0x00, 0x00, 0x00, // mov edi, 1 (fd 1)
		0x48, 0x8d, 0x35, 0x10, 0x00, 0x00, 0x00, // lea rsi, [rip+16] (msg)
		0xba, byte(n), byte(n >> 8), byte(n >> 16), byte(n >> 24), // mov edx, len(msg)
		0x0f, 0x05, // syscall
		// exit_group(0)
		0xb8, 0xe7, 0x00, 0x00, 0x00, // mov eax, 231 (SYS_exit_group)
		0x31, 0xff, // xor edi, edi
		0x0f, 0x05, // syscall
	}
	size := uint64(codeOff + len(code) + len(out))
	le := binary.LittleEndian
	b := make([]byte, 0, size)
	// ELF header.
	b = append(b, 0x7f, 'E', 'L', 'F', 2 /* 64-bit */, 1 /* little-endian */, 1 /* version */, 0 /* System V */)
	b = append(b, make([]byte, 8)...)
	b = le.AppendUint16(b, 2)    // e_type: ET_EXEC
	b = le.AppendUint16(b, 0x3e) // e_machine: x86-64
	b = le.AppendUint32(b, 1)    // e_version
	b = le.AppendUint64(b, base+codeOff)
	b = le.AppendUint64(b, ehSize) // e_phoff
	b = le.AppendUint64(b, 0)      // e_shoff: no sections
	b = le.AppendUint32(b, 0)      // e_flags
	b = le.AppendUint16(b, ehSize)
	b = le.AppendUint16(b, phSize)
	b = le.AppendUint16(b, phCount)
	b = le.AppendUint16(b, 64) // e_shentsize
	b = le.AppendUint16(b, 0)  // e_shnum
	b = le.AppendUint16(b, 0)  // e_shstrndx
	// PT_LOAD: the whole file, read and execute.
	b = le.AppendUint32(b, 1)
	b = le.AppendUint32(b, 5) // PF_R|PF_X
	b = le.AppendUint64(b, 0)
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, base)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, size)
	b = le.AppendUint64(b, 0x1000)
	// PT_GNU_STACK: a non-executable stack.
	b = le.AppendUint32(b, 0x6474e551)
	b = le.AppendUint32(b, 6) // PF_R|PF_W
	b = append(b, make([]byte, 6*8)...)
	b = append(b, code...)
	return append(b, out...)
}
