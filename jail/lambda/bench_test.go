package lambda_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

// Every exec goes through these codecs twice; they should cost microseconds
// against the ~0.5 ms of starting a process.

func benchArgs() *lambda.Args {
	return &lambda.Args{
		Args:   []string{"--mode", "fast", "out/key"},
		Values: map[string][]byte{"in/a": bytes.Repeat([]byte("a"), 1024), "in/b": []byte("small")},
		Files:  map[string]string{"in/c": "in/c"},
	}
}

func BenchmarkEncodeArgs(b *testing.B) {
	a := benchArgs()
	b.ReportAllocs()
	for b.Loop() {
		if err := lambda.EncodeArgs(io.Discard, a); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalArgs(b *testing.B) {
	var buf bytes.Buffer
	if err := lambda.EncodeArgs(&buf, benchArgs()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lambda.UnmarshalArgs(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEncodeResponse(b *testing.B) {
	r := testResponse()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := lambda.EncodeResponse(&buf, r); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUnmarshalResponse(b *testing.B) {
	var buf bytes.Buffer
	if err := lambda.EncodeResponse(&buf, testResponse()); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lambda.UnmarshalResponse(buf.Bytes()); err != nil {
			b.Fatal(err)
		}
	}
}
