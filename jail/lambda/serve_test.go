package lambda_test

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/lambdakv/lambdakv/jail/lambda"
)

// serveEnv names the handler a re-executed test binary serves (see TestMain).
const serveEnv = "LAMBDA_TEST_SERVE"

// handlers are the handlers the tests run, in-process and through Serve.
var handlers = map[string]lambda.Handler{
	"echo": func(a *lambda.Args) (*lambda.Response, error) {
		if os.Getenv(serveEnv) != "" {
			fmt.Println("noise on stdout") // Serve must keep this out of the response
		}
		resp := &lambda.Response{Output: []byte(strings.Join(a.Args, " "))}
		for _, k := range a.Keys() {
			v, err := a.Get(k)
			if err != nil {
				return nil, err
			}
			resp.AddPut("echo/"+k, v, lambda.R)
		}
		return resp, nil
	},
	"error": func(*lambda.Args) (*lambda.Response, error) { return nil, errors.New("no luck") },
	"panic": func(*lambda.Args) (*lambda.Response, error) { panic("boom") },
	"nil":   func(*lambda.Args) (*lambda.Response, error) { return nil, nil },
	"invalid": func(*lambda.Args) (*lambda.Response, error) {
		return (&lambda.Response{}).AddPut("k", nil, lambda.W), nil
	},
	"errput": func(*lambda.Args) (*lambda.Response, error) {
		return (&lambda.Response{ReturnCode: 5}).AddPut("k", nil, lambda.R), lineError("late failure\n")
	},
}

// lineError is an error whose text already ends in a newline.
type lineError string

func (e lineError) Error() string { return string(e) }

// TestMain lets the test binary act as a lambda: with LAMBDA_TEST_SERVE set
// it calls lambda.Serve with that handler instead of running tests.
func TestMain(m *testing.M) {
	if name := os.Getenv(serveEnv); name != "" {
		lambda.Serve(handlers[name])
	}
	os.Exit(m.Run())
}

func TestCall(t *testing.T) {
	for _, tt := range []struct {
		handler    string
		wantCode   int
		wantPrefix string
		wantPuts   int
	}{
		{"echo", 0, "a b", 1},
		{"error", 1, "no luck\n", 0},
		{"errput", 1, "late failure\n", 0},
		{"panic", 1, "panic: boom\n\ngoroutine", 0},
		{"nil", 0, "", 0},
		{"invalid", 1, `lambda: invalid response: puts[0]: key "k": perm "w" lacks r` + "\n", 0},
	} {
		t.Run(tt.handler, func(t *testing.T) {
			a := &lambda.Args{Args: []string{"a", "b"}, Values: map[string][]byte{"v": []byte("1")}}
			got := lambda.Call(handlers[tt.handler], a)
			if got.ReturnCode != tt.wantCode || !bytes.HasPrefix(got.Output, []byte(tt.wantPrefix)) || len(got.Puts) != tt.wantPuts {
				t.Errorf("Call = rc %d, output %.80q, %d puts; want rc %d, output prefix %q, %d puts",
					got.ReturnCode, got.Output, len(got.Puts), tt.wantCode, tt.wantPrefix, tt.wantPuts)
			}
			if err := got.Validate(); err != nil {
				t.Errorf("Call returned an invalid response: %v", err)
			}
		})
	}
}

func TestHandle(t *testing.T) {
	var in, out bytes.Buffer
	if err := lambda.EncodeArgs(&in, &lambda.Args{Args: []string{"x", "y"}, Values: map[string][]byte{"k": []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	if err := lambda.Handle(&in, &out, handlers["echo"]); err != nil {
		t.Fatalf("Handle: %v", err)
	}
	got, err := lambda.DecodeResponse(&out, 1<<20)
	if err != nil {
		t.Fatalf("DecodeResponse: %v", err)
	}
	assertResponseEqual(t, got, (&lambda.Response{Output: []byte("x y")}).AddPut("echo/k", []byte("v"), lambda.R))
}

func TestHandle_badArgs(t *testing.T) {
	for _, tt := range []struct {
		name, want string
		in         []byte
	}{
		{"empty", "run it without --raw", nil},
		{"garbage", "malformed", []byte("hello")},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			called := false
			err := lambda.Handle(bytes.NewReader(tt.in), &out, func(*lambda.Args) (*lambda.Response, error) {
				called = true
				return nil, nil
			})
			if err == nil || !strings.Contains(err.Error(), tt.want) || called || out.Len() != 0 {
				t.Errorf("Handle = %v, called %v, wrote %d bytes; want error containing %q, not called, nothing written",
					err, called, out.Len(), tt.want)
			}
		})
	}
}

// runServe runs the test binary as a lambda serving handler with stdin in.
func runServe(t *testing.T, handler string, in []byte) (stdout, stderr []byte, status int) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), serveEnv+"="+handler)
	cmd.Stdin = bytes.NewReader(in)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatalf("run lambda: %v", err)
	}
	return o.Bytes(), e.Bytes(), cmd.ProcessState.ExitCode()
}

func TestServe(t *testing.T) {
	var in bytes.Buffer
	if err := lambda.EncodeArgs(&in, &lambda.Args{Args: []string{"hi"}, Values: map[string][]byte{"k": []byte("v")}}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		handler    string
		wantCode   int
		wantPrefix string
	}{
		{"echo", 0, "hi"},
		{"error", 1, "no luck\n"},
		{"panic", 1, "panic: boom"},
	} {
		t.Run(tt.handler, func(t *testing.T) {
			stdout, stderr, status := runServe(t, tt.handler, in.Bytes())
			if status != 0 {
				t.Fatalf("exit status %d; want 0 (stderr: %s)", status, stderr)
			}
			resp, err := lambda.DecodeResponse(bytes.NewReader(stdout), 1<<20)
			if err != nil {
				t.Fatalf("stdout is not one ExecResponse: %v\n%q", err, stdout)
			}
			if resp.ReturnCode != tt.wantCode || !bytes.HasPrefix(resp.Output, []byte(tt.wantPrefix)) {
				t.Errorf("response rc %d output %.60q; want rc %d output prefix %q", resp.ReturnCode, resp.Output, tt.wantCode, tt.wantPrefix)
			}
		})
	}
}

func TestServe_strayPrintsGoToStderr(t *testing.T) {
	var in bytes.Buffer
	if err := lambda.EncodeArgs(&in, &lambda.Args{}); err != nil {
		t.Fatal(err)
	}
	_, stderr, _ := runServe(t, "echo", in.Bytes())
	if !bytes.Contains(stderr, []byte("noise on stdout")) {
		t.Errorf("stderr = %q; want the handler's fmt.Println output", stderr)
	}
}

func TestServe_noArgs(t *testing.T) {
	// Raw mode gives an empty stdin: the lambda must say so and exit 2.
	for name, in := range map[string][]byte{"empty": nil, "garbage": []byte("\xc1\xc1")} {
		t.Run(name, func(t *testing.T) {
			stdout, stderr, status := runServe(t, "echo", in)
			if status != 2 || !bytes.Contains(stdout, []byte("lambda:")) || !bytes.Contains(stderr, []byte("lambda:")) {
				t.Errorf("status %d, stdout %q, stderr %q; want 2 and the reason on both", status, stdout, stderr)
			}
			if bytes.Contains(stdout, []byte("noise")) {
				t.Errorf("handler ran on bad input")
			}
		})
	}
}
