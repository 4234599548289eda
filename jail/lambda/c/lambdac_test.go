package lambdac_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

// A compiled test program, built once per test binary.
type program struct {
	once sync.Once
	path string
	err  error
}

var (
	buildDir string
	progsMu  sync.Mutex
	progs    = map[string]*program{} // guarded by progsMu
)

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "lambdac-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buildDir = dir
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// Compilers and flags: warnings are errors, so the header stays clean.
var (
	cFlags   = []string{"-std=c99", "-Wall", "-Wextra", "-pedantic", "-Werror", "-O2"}
	cxxFlags = []string{"-std=c++11", "-Wall", "-Wextra", "-Werror", "-O2"}
)

// build compiles src (relative to this directory) with compiler and flags
// plus -I. and returns the executable; it skips the test if the compiler
// is missing and fails it if compilation fails.
func build(t *testing.T, compiler, src string, flags ...string) string {
	t.Helper()
	if _, err := exec.LookPath(compiler); err != nil {
		t.Skipf("%s not found: the C runtime tests need a C and C++ compiler", compiler)
	}
	key := compiler + " " + src + " " + strings.Join(flags, " ")
	progsMu.Lock()
	p := progs[key]
	if p == nil {
		p = &program{}
		progs[key] = p
	}
	progsMu.Unlock()
	p.once.Do(func() {
		p.path = filepath.Join(buildDir, fmt.Sprintf("prog%d", len(key)+int(rand.Uint32()%1e6)))
		args := append(append([]string{}, flags...), "-I.", "-o", p.path, src)
		out, err := exec.Command(compiler, args...).CombinedOutput()
		if err != nil {
			p.err = fmt.Errorf("%s %s: %v\n%s", compiler, strings.Join(args, " "), err, out)
		}
	})
	if p.err != nil {
		t.Fatal(p.err)
	}
	return p.path
}

func probeC(t *testing.T) string {
	return build(t, "gcc", "testdata/probe.c", append([]string{"-static"}, cFlags...)...)
}

// result is what a run of a lambda produced.
type result struct {
	stdout, stderr []byte
	status         int
}

// run executes bin in dir with stdin in.
func run(t *testing.T, bin, dir string, in []byte) result {
	t.Helper()
	cmd := exec.Command(bin)
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run %s: %v", bin, err)
	}
	if !cmd.ProcessState.Exited() {
		t.Fatalf("%s died: %v (stderr %q)", bin, cmd.ProcessState, e.Bytes())
	}
	return result{o.Bytes(), e.Bytes(), cmd.ProcessState.ExitCode()}
}

// execArgs encodes a with the Go encoder the node uses.
func execArgs(t *testing.T, a *lambda.Args) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := lambda.EncodeArgs(&buf, a); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// exec runs bin on a and decodes its response with the node's decoder.
func execLambda(t *testing.T, bin, dir string, a *lambda.Args) *lambda.Response {
	t.Helper()
	res := run(t, bin, dir, execArgs(t, a))
	if res.status != 0 {
		t.Fatalf("exit status %d; want 0 (stdout %q, stderr %q)", res.status, res.stdout, res.stderr)
	}
	resp, err := lambda.DecodeResponse(bytes.NewReader(res.stdout), 1<<30)
	if err != nil {
		t.Fatalf("DecodeResponse: %v (stdout %.200q)", err, res.stdout)
	}
	return resp
}

func TestProbe_dump(t *testing.T) {
	bin := probeC(t)
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "sub/f.txt"), []byte("file contents"), 0o644); err != nil {
		t.Fatal(err)
	}
	a := &lambda.Args{
		Args:   []string{"dump", "", "two words", "nul\x00byte"},
		Values: map[string][]byte{"v/b": []byte("B"), "v/a": []byte("A\x00A"), "v/empty": nil},
		Files:  map[string]string{"f/1": "sub/f.txt", "f/missing": "nope.txt"},
	}
	got := execLambda(t, bin, dir, a)
	want := &lambda.Response{ReturnCode: 4, Output: []byte("argc=4\n" +
		"arg 0=dump (4)\narg 1= (0)\narg 2=two words (9)\narg 3=nul (8)\n" +
		"value v/a=A\x00A\nvalue v/b=B\nvalue v/empty=\n" +
		"file f/1@sub/f.txt=file contents\nfile f/missing@nope.txt=(unreadable)\n")}
	want.AddPut("copy/v/a", []byte("A\x00A"), lambda.R).
		AddPut("copy/v/b", []byte("B"), lambda.R).
		AddPut("copy/v/empty", nil, lambda.R).
		AddPut("copy/f/1", []byte("file contents"), lambda.RW)
	assertResponse(t, got, want)
}

func TestProbe_noArgsField(t *testing.T) {
	// An ExecArgs without fields is valid: everything is empty.
	res := run(t, probeC(t), t.TempDir(), []byte{0x80})
	resp, err := lambda.DecodeResponse(bytes.NewReader(res.stdout), 1<<20)
	if err != nil || resp.ReturnCode != 0 || string(resp.Output) != "argc=0\n" {
		t.Errorf("response %+v, %v; want rc 0, output argc=0", resp, err)
	}
}

func TestProbe_modes(t *testing.T) {
	bin := probeC(t)
	for _, tt := range []struct {
		mode     string
		wantCode int
		wantOut  string
	}{
		{"error", 7, "failed: on purpose\n"},
		{"negative", -70000, ""},
		{"badperm", 1, `lambda: invalid response: put: perm lacks r (key "k")` + "\n"},
		{"permbits", 1, `lambda: invalid response: put: perm has bits beyond rwx (key "k")` + "\n"},
		{"emptykey", 1, "lambda: invalid response: put: empty key\n"},
		{"dup", 1, "lambda: invalid response: put: key put twice\n"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			got := execLambda(t, bin, t.TempDir(), &lambda.Args{Args: []string{tt.mode}})
			assertResponse(t, got, &lambda.Response{ReturnCode: tt.wantCode, Output: []byte(tt.wantOut)})
		})
	}
}

func TestProbe_big(t *testing.T) {
	// Sizes cross every msgpack length form: fix, 8, 16 and 32 bits.
	bin := probeC(t)
	for _, tt := range []struct{ out, puts, size int }{
		{0, 0, 0}, {200, 15, 31}, {70000, 16, 300}, {3 << 20, 70000, 2}, {10, 2, 1 << 20},
	} {
		t.Run(fmt.Sprintf("out%d_puts%d_size%d", tt.out, tt.puts, tt.size), func(t *testing.T) {
			args := []string{"big", fmt.Sprint(tt.out), fmt.Sprint(tt.puts), fmt.Sprint(tt.size)}
			got := execLambda(t, bin, t.TempDir(), &lambda.Args{Args: args})
			want := &lambda.Response{Output: bytes.Repeat([]byte("x"), tt.out+300)}
			for i := range tt.puts {
				want.AddPut(fmt.Sprintf("big/%d", i), bytes.Repeat([]byte("x"), tt.size), lambda.RW)
			}
			assertResponse(t, got, want)
		})
	}
}

func TestProbe_cxx(t *testing.T) {
	bin := build(t, "g++", "testdata/probe.cc", append([]string{"-static"}, cxxFlags...)...)
	got := execLambda(t, bin, t.TempDir(), &lambda.Args{
		Args:   []string{"a", "b"},
		Values: map[string][]byte{"k": []byte("v")},
	})
	want := (&lambda.Response{ReturnCode: 2, Output: []byte("c++ argc=2\narg a\narg b\nvalue k=v\n")}).
		AddPut("cc/done", []byte("yes"), lambda.RW)
	assertResponse(t, got, want)
}

func TestProbe_headerCompilesAsCxx(t *testing.T) {
	// The C probe, compiled as C++, proves the implementation is valid C++.
	bin := build(t, "g++", "testdata/probe.c", append([]string{"-static", "-x", "c++"}, cxxFlags...)...)
	got := execLambda(t, bin, t.TempDir(), &lambda.Args{Args: []string{"error"}})
	assertResponse(t, got, &lambda.Response{ReturnCode: 7, Output: []byte("failed: on purpose\n")})
}

func TestProbe_forwardCompatible(t *testing.T) {
	// Unknown fields of every msgpack type are skipped.
	in := []byte{0x84,
		0xa6, 'f', 'u', 't', 'u', 'r', 'e',
		0x8a,       // map of 10 pairs holding every scalar kind
		0x01, 0xe0, // fixint: negative fixint
		0xcc, 0xff, 0xcd, 0, 1, // uint8: uint16
		0xce, 0, 0, 0, 1, 0xcf, 0, 0, 0, 0, 0, 0, 0, 1, // uint32: uint64
		0xd0, 0x80, 0xd1, 0, 1, // int8: int16
		0xd2, 0, 0, 0, 1, 0xd3, 0, 0, 0, 0, 0, 0, 0, 1, // int32: int64
		0xca, 0, 0, 0, 0, 0xcb, 0, 0, 0, 0, 0, 0, 0, 0, // float32: float64
		0xc0, 0xc2, // nil: false
		0xc3, 0xd4, 1, 1, // true: fixext1
		0xd8, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, // fixext16: ...
		0xc7, 2, 5, 'a', 'b', // ext8
		0xa1, 'x', 0x92, 0xc4, 1, 'z', 0xdc, 0, 1, 0x90, // "x": [bin "z", array16 [[]]]
		0xa4, 'a', 'r', 'g', 's', 0x91, 0xa4, 'd', 'u', 'm', 'p',
		0xa5, 'f', 'i', 'l', 'e', 's', 0xc0,
		0xa1, 'z', 0xde, 0, 1, 0xc8, 0, 1, 9, 'q', 0xc9, 0, 0, 0, 0, 9, // map16 {ext16: ext32}
	}
	res := run(t, probeC(t), t.TempDir(), in)
	resp, err := lambda.DecodeResponse(bytes.NewReader(res.stdout), 1<<20)
	if err != nil {
		t.Fatalf("DecodeResponse: %v (status %d, stdout %q)", err, res.status, res.stdout)
	}
	if want := "argc=1\narg 0=dump (4)\n"; string(resp.Output) != want {
		t.Errorf("output %q; want %q", resp.Output, want)
	}
}

// hostileArgs are inputs the C runtime must refuse without running the
// handler: it exits 2 with the reason on stdout.
func hostileArgs() map[string][]byte {
	deep := append([]byte{0x81, 0xa1, 'x'}, bytes.Repeat([]byte{0x91}, 100000)...)
	return map[string][]byte{
		"empty":          nil,
		"nil":            {0xc0},
		"array":          {0x90},
		"int":            {0x05},
		"truncated":      {0x81, 0xa4, 'a', 'r', 'g', 's', 0x92, 0xa1},
		"trailing":       {0x80, 0x80},
		"huge map":       {0xdf, 0xff, 0xff, 0xff, 0xff},
		"huge args":      {0x81, 0xa4, 'a', 'r', 'g', 's', 0xdd, 0xff, 0xff, 0xff, 0xff, 0xa0},
		"huge str":       {0x81, 0xa4, 'a', 'r', 'g', 's', 0x91, 0xdb, 0xff, 0xff, 0xff, 0xff, 'x'},
		"huge bin value": {0x81, 0xa6, 'v', 'a', 'l', 'u', 'e', 's', 0x81, 0xa1, 'k', 0xc6, 0x7f, 0xff, 0xff, 0xff},
		"huge ext":       {0x81, 0xa1, 'x', 0xc9, 0xff, 0xff, 0xff, 0xff, 1},
		"deep":           deep,
		"bad code":       {0x81, 0xa1, 'x', 0xc1},
		"int key":        {0x81, 0x01, 0x02},
		"bin key":        {0x81, 0xc4, 1, 'x', 0x02},
		"arg not str":    {0x81, 0xa4, 'a', 'r', 'g', 's', 0x91, 0x05},
		"arg bin":        {0x81, 0xa4, 'a', 'r', 'g', 's', 0x91, 0xc4, 0},
		"arg nil":        {0x81, 0xa4, 'a', 'r', 'g', 's', 0x91, 0xc0},
		"value int":      {0x81, 0xa6, 'v', 'a', 'l', 'u', 'e', 's', 0x81, 0xa1, 'k', 0x05},
		"path nil":       {0x81, 0xa5, 'f', 'i', 'l', 'e', 's', 0x81, 0xa1, 'k', 0xc0},
		"values array":   {0x81, 0xa6, 'v', 'a', 'l', 'u', 'e', 's', 0x90},
		"dup field":      {0x82, 0xa4, 'a', 'r', 'g', 's', 0x90, 0xa4, 'a', 'r', 'g', 's', 0x90},
		"dup value key":  {0x81, 0xa6, 'v', 'a', 'l', 'u', 'e', 's', 0x82, 0xa1, 'k', 0xc4, 0, 0xa1, 'k', 0xc4, 0},
		"dup file key":   {0x81, 0xa5, 'f', 'i', 'l', 'e', 's', 0x82, 0xa1, 'k', 0xa1, 'p', 0xa1, 'k', 0xa1, 'q'},
		"text":           []byte("hello, I am not msgpack\n"),
	}
}

func TestProbe_hostileArgs(t *testing.T) {
	bin := probeC(t)
	for name, in := range hostileArgs() {
		t.Run(name, func(t *testing.T) {
			assertRefused(t, run(t, bin, t.TempDir(), in))
		})
	}
}

// assertRefused checks a run that must not have called the handler.
func assertRefused(t *testing.T, res result) {
	t.Helper()
	if res.status != 2 || !bytes.HasPrefix(res.stdout, []byte("lambda: ")) || !bytes.Contains(res.stderr, []byte("lambda: ")) {
		t.Errorf("status %d, stdout %q, stderr %q; want 2 and the reason on both", res.status, res.stdout, res.stderr)
	}
	if bytes.Contains(res.stdout, []byte("argc=")) {
		t.Errorf("the handler ran")
	}
}

func TestProbe_emptyStdinExplainsRawMode(t *testing.T) {
	res := run(t, probeC(t), t.TempDir(), nil)
	if !bytes.Contains(res.stdout, []byte("run it without --raw")) {
		t.Errorf("stdout %q; want the raw-mode hint", res.stdout)
	}
}

// mutations returns n deterministic corruptions of valid ExecArgs: flipped,
// inserted, deleted and truncated bytes.
func mutations(t *testing.T, n int) [][]byte {
	base := execArgs(t, &lambda.Args{
		Args:   []string{"dump", "x"},
		Values: map[string][]byte{"a": []byte("1234"), "b": bytes.Repeat([]byte("y"), 40)},
		Files:  map[string]string{"f": "f.txt"},
	})
	rng := rand.New(rand.NewPCG(1, 2))
	out := make([][]byte, 0, n)
	for range n {
		b := append([]byte(nil), base...)
		for range 1 + rng.IntN(3) {
			i := rng.IntN(len(b))
			switch rng.IntN(4) {
			case 0:
				b[i] = byte(rng.Uint32())
			case 1:
				b = append(b[:i], append([]byte{byte(rng.Uint32())}, b[i:]...)...)
			case 2:
				b = append(b[:i], b[i+1:]...)
			default:
				b = b[:i]
			}
			if len(b) == 0 {
				break
			}
		}
		out = append(out, b)
	}
	return out
}

// checkMutations runs bin on corrupted input: every run must end with
// status 0 and a valid response, or status 2 and the reason; never a crash.
func checkMutations(t *testing.T, bin string, n int) {
	dir := t.TempDir()
	for i, in := range mutations(t, n) {
		res := run(t, bin, dir, in)
		switch res.status {
		case 0:
			if _, err := lambda.DecodeResponse(bytes.NewReader(res.stdout), 1<<20); err != nil {
				t.Errorf("mutation %d (% x): status 0 but %v", i, in, err)
			}
		case 2:
			assertRefused(t, res)
		default:
			t.Errorf("mutation %d (% x): status %d, stderr %q", i, in, res.status, res.stderr)
		}
	}
}

func TestProbe_mutatedArgs(t *testing.T) {
	n := 400
	if testing.Short() {
		n = 50
	}
	checkMutations(t, probeC(t), n)
}

func TestProbe_sanitizers(t *testing.T) {
	// The same hostile inputs under AddressSanitizer and UBSan catch reads
	// out of bounds that happen not to crash a normal build.
	san := []string{"-fsanitize=address,undefined", "-fno-sanitize-recover=all", "-g"}
	if _, err := exec.LookPath("gcc"); err != nil {
		t.Skip("gcc not found: the C runtime tests need a C compiler")
	}
	probe := exec.Command("gcc", append(san, "-x", "c", "-o", filepath.Join(t.TempDir(), "a.out"), "-")...)
	probe.Stdin = strings.NewReader("int main(void) { return 0; }\n")
	if out, err := probe.CombinedOutput(); err != nil {
		t.Skipf("gcc cannot build with sanitizers here (the other tests still ran): %v\n%s", err, out)
	}
	bin := build(t, "gcc", "testdata/probe.c", append(san, cFlags...)...)
	t.Setenv("ASAN_OPTIONS", "detect_leaks=0:exitcode=66")
	t.Setenv("UBSAN_OPTIONS", "exitcode=66")
	for name, in := range hostileArgs() {
		if res := run(t, bin, t.TempDir(), in); res.status != 2 {
			t.Errorf("%s: status %d, stderr %.500s; want 2", name, res.status, res.stderr)
		}
	}
	n := 200
	if testing.Short() {
		n = 20
	}
	checkMutations(t, bin, n)
	got := execLambda(t, bin, t.TempDir(), &lambda.Args{Args: []string{"big", "70000", "300", "20"}})
	if len(got.Puts) != 300 {
		t.Errorf("sanitized big run: %d puts; want 300", len(got.Puts))
	}
}

// assertResponse compares two responses, treating nil and empty as equal.
func assertResponse(t *testing.T, got, want *lambda.Response) {
	t.Helper()
	if got.ReturnCode != want.ReturnCode {
		t.Errorf("ReturnCode = %d; want %d", got.ReturnCode, want.ReturnCode)
	}
	if !bytes.Equal(got.Output, want.Output) {
		t.Errorf("Output = %.300q; want %.300q", got.Output, want.Output)
	}
	if len(got.Puts) != len(want.Puts) {
		t.Fatalf("%d puts; want %d", len(got.Puts), len(want.Puts))
	}
	for i, w := range want.Puts {
		g := got.Puts[i]
		if g.Key != w.Key || !bytes.Equal(g.Value, w.Value) || g.Perm != w.Perm {
			t.Errorf("Puts[%d] = %q %.40q %v; want %q %.40q %v", i, g.Key, g.Value, g.Perm, w.Key, w.Value, w.Perm)
		}
	}
}

func TestNoMain_maxInput(t *testing.T) {
	bin := build(t, "gcc", "testdata/nomain.c", append([]string{"-static"}, cFlags...)...)
	small := execArgs(t, &lambda.Args{Args: []string{"a", "b"}})
	res := run(t, bin, t.TempDir(), small)
	resp, err := lambda.DecodeResponse(bytes.NewReader(res.stdout), 1<<20)
	if err != nil || string(resp.Output) != "2 args\n" || resp.ReturnCode != 7 || !bytes.Contains(res.stderr, []byte("custom main")) {
		t.Errorf("response %+v, %v, stderr %q; want \"2 args\\n\", rc 7, custom main on stderr", resp, err, res.stderr)
	}
	big := execArgs(t, &lambda.Args{Args: []string{strings.Repeat("x", 64)}})
	res = run(t, bin, t.TempDir(), big)
	assertRefused(t, res)
	if !bytes.Contains(res.stdout, []byte("LKV_MAX_INPUT")) {
		t.Errorf("stdout %q; want it to name LKV_MAX_INPUT", res.stdout)
	}
}
