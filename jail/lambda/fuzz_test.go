package lambda_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

// FuzzDecodeResponse feeds arbitrary bytes to the decoder the node applies
// to a lambda's stdout. It must never panic, must fail only with
// ErrMalformed, and what it accepts must be valid and re-encode to a
// message that decodes to the same response. The seeds run under go test.
func FuzzDecodeResponse(f *testing.F) {
	for _, tt := range hostileResponses(f) {
		f.Add(tt.in)
	}
	for _, r := range []*lambda.Response{testResponse(), {}, {ReturnCode: 1, Output: []byte("boom")}} {
		var buf bytes.Buffer
		if err := lambda.EncodeResponse(&buf, r); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		resp, err := lambda.DecodeResponse(bytes.NewReader(in), 1<<20)
		if err != nil {
			if !errors.Is(err, lambda.ErrMalformed) && !errors.Is(err, lambda.ErrTooLarge) {
				t.Fatalf("DecodeResponse error %v wraps neither ErrMalformed nor ErrTooLarge", err)
			}
			return
		}
		if err := resp.Validate(); err != nil {
			t.Fatalf("accepted a response that fails Validate: %v", err)
		}
		var buf bytes.Buffer
		if err := lambda.EncodeResponse(&buf, resp); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := lambda.UnmarshalResponse(buf.Bytes())
		if err != nil {
			t.Fatalf("decode of re-encoded response: %v", err)
		}
		assertResponseEqual(t, again, resp)
	})
}

// FuzzDecodeArgs does the same for the ExecArgs decoder runtimes use.
func FuzzDecodeArgs(f *testing.F) {
	for _, a := range []*lambda.Args{testArgs(), {}} {
		var buf bytes.Buffer
		if err := lambda.EncodeArgs(&buf, a); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
	}
	f.Add([]byte{0x81, 0xa1, 'x', 0xdd, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, in []byte) {
		a, err := lambda.UnmarshalArgs(in)
		if err != nil {
			if !errors.Is(err, lambda.ErrMalformed) {
				t.Fatalf("UnmarshalArgs error %v does not wrap ErrMalformed", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := lambda.EncodeArgs(&buf, a); err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		again, err := lambda.UnmarshalArgs(buf.Bytes())
		if err != nil {
			t.Fatalf("decode of re-encoded args: %v", err)
		}
		assertArgsEqual(t, again, a)
	})
}
