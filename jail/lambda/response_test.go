package lambda_test

import (
	"bytes"
	"errors"
	"math"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/vmihailenco/msgpack/v5"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

func testResponse() *lambda.Response {
	r := &lambda.Response{ReturnCode: -3, Output: []byte("out\n")}
	r.AddPut("out/a", []byte("A"), lambda.R).
		AddPut("out/b", nil, lambda.RW).
		AddPut("bin/x", bytes.Repeat([]byte{0xc1}, 300), lambda.RX)
	return r
}

func TestResponse_roundTrip(t *testing.T) {
	for name, in := range map[string]*lambda.Response{
		"full":   testResponse(),
		"zero":   {},
		"max rc": {ReturnCode: math.MaxInt32},
		"min rc": {ReturnCode: math.MinInt32},
		"big":    {Output: bytes.Repeat([]byte("z"), 1<<17)},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := lambda.EncodeResponse(&buf, in); err != nil {
				t.Fatalf("EncodeResponse: %v", err)
			}
			got, err := lambda.DecodeResponse(&buf, 1<<20)
			if err != nil {
				t.Fatalf("DecodeResponse: %v", err)
			}
			assertResponseEqual(t, got, in)
		})
	}
}

// assertResponseEqual compares treating nil and empty as equal.
func assertResponseEqual(t testing.TB, got, want *lambda.Response) {
	t.Helper()
	if got.ReturnCode != want.ReturnCode {
		t.Errorf("ReturnCode = %d; want %d", got.ReturnCode, want.ReturnCode)
	}
	if !bytes.Equal(got.Output, want.Output) {
		t.Errorf("Output = %.80q; want %.80q", got.Output, want.Output)
	}
	if len(got.Puts) != len(want.Puts) {
		t.Fatalf("len(Puts) = %d; want %d", len(got.Puts), len(want.Puts))
	}
	for i, p := range want.Puts {
		g := got.Puts[i]
		if g.Key != p.Key || !bytes.Equal(g.Value, p.Value) || g.Perm != p.Perm {
			t.Errorf("Puts[%d] = %q %.40q %v; want %q %.40q %v", i, g.Key, g.Value, g.Perm, p.Key, p.Value, p.Perm)
		}
	}
}

func TestEncodeResponse_golden(t *testing.T) {
	r := &lambda.Response{ReturnCode: 2, Output: []byte("ok")}
	r.AddPut("k", []byte("v"), lambda.RW)
	var buf bytes.Buffer
	if err := lambda.EncodeResponse(&buf, r); err != nil {
		t.Fatal(err)
	}
	want := mp(t, byte(0x83),
		"puts", byte(0x91), byte(0x83), "key", "k", "perm", byte(3), "value", binOf("v"),
		"return_code", byte(2),
		"return_output", binOf("ok"))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("EncodeResponse = % x; want % x", buf.Bytes(), want)
	}
}

func TestResponse_Validate(t *testing.T) {
	put := func(key string, perm lambda.Perm) *lambda.Response {
		return (&lambda.Response{}).AddPut(key, nil, perm)
	}
	for _, tt := range []struct {
		name string
		r    *lambda.Response
		want string // "" means valid
	}{
		{"zero", &lambda.Response{}, ""},
		{"r", put("k", lambda.R), ""},
		{"rwx", put("k", lambda.RWX), ""},
		{"longest key", put(strings.Repeat("k", lambda.MaxKeyLen), lambda.R), ""},
		{"rc too big", &lambda.Response{ReturnCode: math.MaxInt32 + 1}, "int32"},
		{"rc too small", &lambda.Response{ReturnCode: math.MinInt32 - 1}, "int32"},
		{"empty key", put("", lambda.R), "puts[0]: empty key"},
		{"long key", put(strings.Repeat("k", lambda.MaxKeyLen+1), lambda.R), "longer than"},
		{"nul key", put("a\x00b", lambda.R), "NUL"},
		{"no perm", put("k", 0), `perm "-" lacks r`},
		{"no r", put("k", lambda.W), "lacks r"},
		{"perm bits", put("k", 8|lambda.R), "beyond rwx"},
		{"dup", put("k", lambda.R).AddPut("j", nil, lambda.R).AddPut("k", nil, lambda.R), `puts[2]: key "k" put twice`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.r.Validate()
			if tt.want == "" {
				if err != nil {
					t.Errorf("Validate() = %v; want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Validate() = %v; want error containing %q", err, tt.want)
			}
			var buf bytes.Buffer
			if err := lambda.EncodeResponse(&buf, tt.r); err == nil || buf.Len() != 0 {
				t.Errorf("EncodeResponse of an invalid response = %v, wrote %d bytes; want error, 0 bytes", err, buf.Len())
			}
		})
	}
}

// put builds the raw msgpack of one put map with the given fields.
func rawPut(t testing.TB, fields ...any) []byte {
	return mp(t, append([]any{byte(0x80 | len(fields)/2)}, fields...)...)
}

// rawResponse builds an ExecResponse whose puts array holds the raw puts.
func rawResponse(t testing.TB, puts ...[]byte) []byte {
	parts := []any{byte(0x83), "return_code", 0, "return_output", binOf(""), "puts", byte(0x90 | len(puts))}
	for _, p := range puts {
		parts = append(parts, p)
	}
	return mp(t, parts...)
}

// hostileResponses are inputs DecodeResponse must refuse, with a fragment
// of the error each must produce. The fuzz test seeds from them too.
func hostileResponses(t testing.TB) []struct {
	name, want string
	in         []byte
} {
	okPut := rawPut(t, "key", "k", "value", binOf("v"), "perm", 1)
	huge := []byte{0xff, 0xff, 0xff, 0xff}
	deep := append(bytes.Repeat([]byte{0x91}, 10000), 0)
	return []struct {
		name, want string
		in         []byte
	}{
		{"empty", "unexpected EOF", nil},
		{"nil", "want map", []byte{mpNil}},
		{"int", "want map", []byte{1}},
		{"array form", "want map", mp(t, byte(0x93), 0, binOf(""), fixarray0)},
		{"trailing", "bytes after", append(rawResponse(t), 0)},
		{"two messages", "bytes after", append(rawResponse(t), rawResponse(t)...)},
		{"truncated", "unexpected EOF", rawResponse(t)[:20]},
		{"missing puts", `missing field "puts"`, mp(t, byte(0x82), "return_code", 0, "return_output", binOf(""))},
		{"missing rc", `missing field "return_code"`, mp(t, byte(0x82), "puts", fixarray0, "return_output", binOf(""))},
		{"dup field", "duplicate field", mp(t, byte(0x84), "return_code", 0, "return_code", 1, "return_output", binOf(""), "puts", fixarray0)},
		{"int key", "want str", mp(t, byte(0x83), 1, 0, "return_output", binOf(""), "puts", fixarray0)},
		{"bin key", "want str", mp(t, byte(0x83), binOf("return_code"), 0, "return_output", binOf(""), "puts", fixarray0)},
		{"rc float", "want int", mp(t, byte(0x83), "return_code", f64, make([]byte, 8), "return_output", binOf(""), "puts", fixarray0)},
		{"rc str", "want int", mp(t, byte(0x83), "return_code", "0", "return_output", binOf(""), "puts", fixarray0)},
		{"rc too big", "out of range", mp(t, byte(0x83), "return_code", int64(math.MaxInt32)+1, "return_output", binOf(""), "puts", fixarray0)},
		{"rc u64", "out of range", mp(t, byte(0x83), "return_code", u64, bytes.Repeat([]byte{0xff}, 8), "return_output", binOf(""), "puts", fixarray0)},
		{"output int", "want bin", mp(t, byte(0x83), "return_code", 0, "return_output", 5, "puts", fixarray0)},
		{"output huge", "unexpected EOF", mp(t, byte(0x83), "return_code", 0, "puts", fixarray0, "return_output", bin32, huge, "x")},
		{"puts map", "want array", mp(t, byte(0x83), "return_code", 0, "return_output", binOf(""), "puts", fixmap0)},
		{"puts huge", "elements declared", mp(t, byte(0x83), "return_code", 0, "return_output", binOf(""), "puts", array32, huge)},
		{"put not map", "want map", rawResponse(t, []byte{fixarray0})},
		{"put huge map", "elements declared", rawResponse(t, append([]byte{map32}, huge...))},
		{"put no perm", `missing field "perm"`, rawResponse(t, rawPut(t, "key", "k", "value", binOf("v")))},
		{"put no value", `missing field "value"`, rawResponse(t, rawPut(t, "key", "k", "perm", 1))},
		{"put dup field", "duplicate field", rawResponse(t, rawPut(t, "key", "k", "key", "j", "value", binOf("v"), "perm", 1))},
		{"put key bin", "want str", rawResponse(t, rawPut(t, "key", binOf("k"), "value", binOf("v"), "perm", 1))},
		{"put key huge", "unexpected EOF", rawResponse(t, rawPut(t, "key", []byte{str32, 0xff, 0xff, 0xff, 0xff}))},
		{"put value huge", "unexpected EOF", rawResponse(t, rawPut(t, "value", []byte{bin32, 0x7f, 0xff, 0xff, 0xff}))},
		{"perm 8", "out of range", rawResponse(t, rawPut(t, "key", "k", "value", binOf("v"), "perm", 9))},
		{"perm negative", "out of range", rawResponse(t, rawPut(t, "key", "k", "value", binOf("v"), "perm", -1))},
		{"perm w only", "lacks r", rawResponse(t, rawPut(t, "key", "k", "value", binOf("v"), "perm", 2))},
		{"perm str", "want int", rawResponse(t, rawPut(t, "key", "k", "value", binOf("v"), "perm", "rw"))},
		{"empty key", "empty key", rawResponse(t, rawPut(t, "key", "", "value", binOf("v"), "perm", 1))},
		{"nul key", "NUL", rawResponse(t, rawPut(t, "key", "a\x00", "value", binOf("v"), "perm", 1))},
		{"long key", "longer than", rawResponse(t, rawPut(t, "key", strings.Repeat("k", lambda.MaxKeyLen+1), "value", binOf("v"), "perm", 1))},
		{"dup put", "put twice", rawResponse(t, okPut, okPut)},
		{"deep unknown", "nested deeper", mp(t, byte(0x84), "x", deep, "return_code", 0, "return_output", binOf(""), "puts", fixarray0)},
		{"unknown huge", "elements declared", mp(t, byte(0x84), "x", map32, huge, "return_code", 0)},
		{"bad code", "unknown code", mp(t, byte(0x84), "x", byte(0xc1), "return_code", 0)},
	}
}

func TestUnmarshalResponse_hostile(t *testing.T) {
	for _, tt := range hostileResponses(t) {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambda.UnmarshalResponse(tt.in)
			if !errors.Is(err, lambda.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("UnmarshalResponse(%.60x) = %v, %v; want ErrMalformed containing %q", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestUnmarshalResponse_lenient(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		want *lambda.Response
	}{
		{"any order, nil output", mp(t, byte(0x83), "return_output", mpNil, "puts", mpNil, "return_code", -7),
			&lambda.Response{ReturnCode: -7}},
		{"str output", mp(t, byte(0x83), "return_output", "hi", "puts", fixarray0, "return_code", 0),
			&lambda.Response{Output: []byte("hi")}},
		{"unknown fields", mp(t, byte(0x85), "v2", map[string]any{"a": []any{1, nil}}, "return_output", "", "puts",
			byte(0x91), rawPut(t, "ttl", 5, "key", "k", "value", "v", "perm", 5), "return_code", 0, "z", 1),
			(&lambda.Response{}).AddPut("k", []byte("v"), lambda.RX)},
		{"wide ints", mp(t, byte(0x83), "return_output", "", "puts", byte(0x91), rawPut(t, "key", "k", "value", "v", "perm", u64, []byte{0, 0, 0, 0, 0, 0, 0, 3}),
			"return_code", byte(0xd2), []byte{0xff, 0xff, 0xff, 0xfe}),
			(&lambda.Response{ReturnCode: -2}).AddPut("k", []byte("v"), lambda.RW)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambda.UnmarshalResponse(tt.in)
			if err != nil {
				t.Fatalf("UnmarshalResponse(% x): %v", tt.in, err)
			}
			assertResponseEqual(t, got, tt.want)
		})
	}
}

func TestDecodeResponse_tooLarge(t *testing.T) {
	var buf bytes.Buffer
	if err := lambda.EncodeResponse(&buf, testResponse()); err != nil {
		t.Fatal(err)
	}
	n := int64(buf.Len())
	for _, tt := range []struct {
		max  int64
		want error
	}{{n, nil}, {math.MaxInt64, nil}, {n - 1, lambda.ErrTooLarge}, {0, lambda.ErrTooLarge}, {-1, lambda.ErrTooLarge}} {
		_, err := lambda.DecodeResponse(bytes.NewReader(buf.Bytes()), tt.max)
		if !errors.Is(err, tt.want) {
			t.Errorf("DecodeResponse(%d bytes, max %d) = %v; want %v", n, tt.max, err, tt.want)
		}
	}
}

func TestUnmarshalResponse_lengthBombAllocates(t *testing.T) {
	// A 4 GiB length over a few bytes must fail without allocating it.
	in := mp(t, byte(0x83), "return_code", 0, "puts", fixarray0, "return_output", bin32, []byte{0xff, 0xff, 0xff, 0xff})
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	for range 100 {
		if _, err := lambda.UnmarshalResponse(in); err == nil {
			t.Fatal("UnmarshalResponse succeeded; want error")
		}
	}
	runtime.ReadMemStats(&after)
	if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
		t.Errorf("100 length bombs allocated %d bytes; want < 1 MiB", got)
	}
}

func TestUnmarshalResponse_aliasesInput(t *testing.T) {
	var buf bytes.Buffer
	if err := lambda.EncodeResponse(&buf, testResponse()); err != nil {
		t.Fatal(err)
	}
	r, err := lambda.UnmarshalResponse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	// Appending to a decoded value must not overwrite the bytes after it.
	_ = append(r.Puts[0].Value, 'X', 'X', 'X')
	r2, err := lambda.UnmarshalResponse(buf.Bytes())
	if err != nil {
		t.Fatalf("input changed by an append to a decoded value: %v", err)
	}
	assertResponseEqual(t, r2, testResponse())
}

func TestUnmarshalResponse_skippedBombsAllocate(t *testing.T) {
	// Unknown fields that declare huge bodies must be refused without
	// allocating them either (msgpack's own Skip would grow its buffer).
	huge := []byte{0xff, 0xff, 0xff, 0xf0}
	for name, field := range map[string][]byte{
		"bin":   append([]byte{bin32}, huge...),
		"str":   append([]byte{str32}, huge...),
		"ext32": append([]byte{0xc9}, huge...),
	} {
		in := mp(t, byte(0x84), "unknown", field, bytes.Repeat([]byte{0}, 64))
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			if _, err := lambda.UnmarshalResponse(in); !errors.Is(err, lambda.ErrMalformed) {
				t.Fatalf("%s: UnmarshalResponse = %v; want ErrMalformed", name, err)
			}
		}
		runtime.ReadMemStats(&after)
		if got := after.TotalAlloc - before.TotalAlloc; got > 1<<20 {
			t.Errorf("%s: 100 skipped bombs allocated %d bytes; want < 1 MiB", name, got)
		}
	}
}

func TestResponse_DecodeMsgpack_stream(t *testing.T) {
	// Through msgpack.NewDecoder on a plain stream the decoder cannot see
	// how much input is left; it must still refuse everything hostile and
	// decode everything valid.
	decode := func(in []byte) (*lambda.Response, error) {
		var r lambda.Response
		err := msgpack.NewDecoder(iotest.OneByteReader(bytes.NewReader(in))).Decode(&r)
		return &r, err
	}
	for _, tt := range hostileResponses(t) {
		switch tt.name {
		case "trailing", "two messages":
			continue // trailing bytes are the caller's business on a stream
		case "nil":
			continue // msgpack.Decode turns nil into a zero value itself
		}
		if _, err := decode(tt.in); err == nil {
			t.Errorf("%s: stream decode succeeded; want error", tt.name)
		}
	}
	var buf bytes.Buffer
	if err := lambda.EncodeResponse(&buf, testResponse()); err != nil {
		t.Fatal(err)
	}
	got, err := decode(buf.Bytes())
	if err != nil {
		t.Fatalf("stream decode: %v", err)
	}
	assertResponseEqual(t, got, testResponse())
}
