package lambda_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

func testArgs() *lambda.Args {
	return &lambda.Args{
		Args:   []string{"alpha", "", "gamma δ"},
		Values: map[string][]byte{"in/a": []byte("hello world"), "in/empty": {}, "bin": {0, 0xff, 0xc1}},
		Files:  map[string]string{"in/big": "big.txt", "{tag}x": "sub/dir/x"},
	}
}

func TestArgs_roundTrip(t *testing.T) {
	for name, in := range map[string]*lambda.Args{
		"full":  testArgs(),
		"zero":  {},
		"args":  {Args: []string{strings.Repeat("x", 70000)}},
		"large": {Values: map[string][]byte{"k": bytes.Repeat([]byte{7}, 1<<17)}},
	} {
		t.Run(name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := lambda.EncodeArgs(&buf, in); err != nil {
				t.Fatalf("EncodeArgs: %v", err)
			}
			got, err := lambda.DecodeArgs(&buf, 1<<20)
			if err != nil {
				t.Fatalf("DecodeArgs: %v", err)
			}
			assertArgsEqual(t, got, in)
		})
	}
}

// assertArgsEqual compares treating nil and empty as equal.
func assertArgsEqual(t *testing.T, got, want *lambda.Args) {
	t.Helper()
	if len(got.Args) != len(want.Args) || (len(want.Args) > 0 && !reflect.DeepEqual(got.Args, want.Args)) {
		t.Errorf("Args = %q; want %q", got.Args, want.Args)
	}
	if len(got.Values) != len(want.Values) {
		t.Errorf("len(Values) = %d; want %d", len(got.Values), len(want.Values))
	}
	for k, v := range want.Values {
		if g, ok := got.Values[k]; !ok || !bytes.Equal(g, v) {
			t.Errorf("Values[%q] = %q, %v; want %q", k, g, ok, v)
		}
	}
	if len(got.Files) != len(want.Files) || (len(want.Files) > 0 && !reflect.DeepEqual(got.Files, want.Files)) {
		t.Errorf("Files = %v; want %v", got.Files, want.Files)
	}
}

func TestEncodeArgs_golden(t *testing.T) {
	// The wire form is a contract: field and map keys sorted, str for text,
	// bin for values. Other runtimes test against these bytes.
	a := &lambda.Args{
		Args:   []string{"x"},
		Values: map[string][]byte{"v": []byte("hi")},
		Files:  map[string]string{"f": "f.txt"},
	}
	var buf bytes.Buffer
	if err := lambda.EncodeArgs(&buf, a); err != nil {
		t.Fatal(err)
	}
	want := mp(t, byte(0x83),
		"args", byte(0x91), "x",
		"files", byte(0x81), "f", "f.txt",
		"values", byte(0x81), "v", binOf("hi"))
	if !bytes.Equal(buf.Bytes(), want) {
		t.Errorf("EncodeArgs = % x; want % x", buf.Bytes(), want)
	}
}

func TestUnmarshalArgs_lenient(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   []byte
		want *lambda.Args
	}{
		{"empty map", mp(t, fixmap0), &lambda.Args{}},
		{"nil fields", mp(t, byte(0x83), "args", mpNil, "values", mpNil, "files", mpNil), &lambda.Args{}},
		{"unknown fields", mp(t, byte(0x83), "future", map[string]any{"a": []any{1, "x", 2.5}}, "args", byte(0x91), "a", "zzz", mpTrue),
			&lambda.Args{Args: []string{"a"}}},
		{"str value", mp(t, byte(0x81), "values", byte(0x81), "k", "text"), &lambda.Args{Values: map[string][]byte{"k": []byte("text")}}},
		{"nil value", mp(t, byte(0x81), "values", byte(0x81), "k", mpNil), &lambda.Args{Values: map[string][]byte{"k": nil}}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := lambda.UnmarshalArgs(tt.in)
			if err != nil {
				t.Fatalf("UnmarshalArgs(% x): %v", tt.in, err)
			}
			assertArgsEqual(t, got, tt.want)
		})
	}
}

func TestUnmarshalArgs_malformed(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		in         []byte
	}{
		{"empty", "unexpected EOF", nil},
		{"nil", "want map", []byte{mpNil}},
		{"array", "want map", []byte{fixarray0}},
		{"trailing", "1 bytes after", []byte{fixmap0, 0}},
		{"int key", "want str", mp(t, byte(0x81), 1, 2)},
		{"dup field", `duplicate field "args"`, mp(t, byte(0x82), "args", fixarray0, "args", fixarray0)},
		{"dup value key", `duplicate key "k"`, mp(t, byte(0x81), "values", byte(0x82), "k", binOf(""), "k", binOf(""))},
		{"bin key", "want str", mp(t, byte(0x81), "values", byte(0x81), binOf("k"), binOf(""))},
		{"arg not str", "want str", mp(t, byte(0x81), "args", byte(0x91), 5)},
		{"bin arg", "want str", mp(t, byte(0x81), "args", byte(0x91), binOf("a"))},
		{"path not str", "want str", mp(t, byte(0x81), "files", byte(0x81), "k", 5)},
		{"value int", "want bin", mp(t, byte(0x81), "values", byte(0x81), "k", 5)},
		{"huge array", "elements declared", mp(t, byte(0x81), "args", []byte{array32, 0xff, 0xff, 0xff, 0xff})},
		{"huge bin", "unexpected EOF", mp(t, byte(0x81), "values", byte(0x81), "k", []byte{bin32, 0xff, 0xff, 0xff, 0xff, 1})},
		{"truncated", "unexpected EOF", mp(t, byte(0x81), "args", byte(0x92), "a")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := lambda.UnmarshalArgs(tt.in)
			if !errors.Is(err, lambda.ErrMalformed) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("UnmarshalArgs(% x) = %v; want ErrMalformed containing %q", tt.in, err, tt.want)
			}
		})
	}
}

func TestDecodeArgs_tooLarge(t *testing.T) {
	var buf bytes.Buffer
	if err := lambda.EncodeArgs(&buf, testArgs()); err != nil {
		t.Fatal(err)
	}
	n := int64(buf.Len())
	if _, err := lambda.DecodeArgs(bytes.NewReader(buf.Bytes()), n); err != nil {
		t.Errorf("DecodeArgs(max = size) = %v; want nil", err)
	}
	if _, err := lambda.DecodeArgs(bytes.NewReader(buf.Bytes()), n-1); !errors.Is(err, lambda.ErrTooLarge) {
		t.Errorf("DecodeArgs(max = size-1) = %v; want ErrTooLarge", err)
	}
}

func TestArgs_accessors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "big.txt"), []byte("file body"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(dir) // file deps are relative to the working directory
	a := testArgs()

	if got := a.Arg(2); got != "gamma δ" {
		t.Errorf("Arg(2) = %q; want %q", got, "gamma δ")
	}
	if got := a.Arg(3) + a.Arg(-1); got != "" {
		t.Errorf("Arg(3)+Arg(-1) = %q; want empty", got)
	}
	if v, ok := a.Value("in/a"); !ok || string(v) != "hello world" {
		t.Errorf("Value(in/a) = %q, %v; want hello world, true", v, ok)
	}
	if _, ok := a.Value("in/big"); ok {
		t.Errorf("Value(in/big) ok; want a file dep not to be a value")
	}
	if p, ok := a.Path("in/big"); !ok || p != "big.txt" {
		t.Errorf("Path(in/big) = %q, %v; want big.txt, true", p, ok)
	}
	if b, err := a.ReadFile("in/big"); err != nil || string(b) != "file body" {
		t.Errorf("ReadFile(in/big) = %q, %v; want file body", b, err)
	}
	if b, err := a.Get("in/big"); err != nil || string(b) != "file body" {
		t.Errorf("Get(in/big) = %q, %v; want file body", b, err)
	}
	if b, err := a.Get("in/a"); err != nil || string(b) != "hello world" {
		t.Errorf("Get(in/a) = %q, %v; want hello world", b, err)
	}
	if _, err := a.Get("nope"); !errors.Is(err, lambda.ErrNoDep) {
		t.Errorf("Get(nope) = %v; want ErrNoDep", err)
	}
	if _, err := a.ReadFile("in/a"); !errors.Is(err, lambda.ErrNoDep) {
		t.Errorf("ReadFile(in/a) = %v; want ErrNoDep (inline, not a file)", err)
	}
	if _, err := a.ReadFile("{tag}x"); err == nil || errors.Is(err, lambda.ErrNoDep) {
		t.Errorf("ReadFile of a missing file = %v; want a file error", err)
	}
	want := []string{"bin", "in/a", "in/big", "in/empty", "{tag}x"}
	if got := a.Keys(); !reflect.DeepEqual(got, want) {
		t.Errorf("Keys() = %q; want %q", got, want)
	}
}

func TestArgs_zero(t *testing.T) {
	var a lambda.Args
	if got := a.Keys(); len(got) != 0 {
		t.Errorf("Keys() = %q; want none", got)
	}
	if _, err := a.Get("k"); !errors.Is(err, lambda.ErrNoDep) {
		t.Errorf("Get(k) = %v; want ErrNoDep", err)
	}
}
