package main

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/peer/wire"
)

func TestParseDep(t *testing.T) {
	tests := []struct {
		in   string
		want client.Dep
		err  string
	}{
		{"input", client.Dep{Key: "input", AsFile: true}, ""},
		{"input:data.txt", client.Dep{Key: "input", AsFile: true, Name: "data.txt"}, ""},
		{"user:1:in/a.txt", client.Dep{Key: "user:1", AsFile: true, Name: "in/a.txt"}, ""},
		{"user:1:", client.Dep{Key: "user:1", AsFile: true}, ""},
		{"{tag}x:y", client.Dep{Key: "{tag}x", AsFile: true, Name: "y"}, ""},
		{"", client.Dep{}, "want KEY"},
		{":name", client.Dep{}, "want KEY"},
		{"k:/etc/passwd", client.Dep{}, "relative"},
		{"k:../up", client.Dep{}, ".."},
		{"k:a/../../up", client.Dep{}, ".."},
	}
	for _, tt := range tests {
		got, err := parseDep(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseDep(%q) err = %v; want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseDep(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParseOut(t *testing.T) {
	tests := []struct {
		in   string
		perm client.Perm
		want client.Output
		err  string
	}{
		{"out.o=obj", client.PermR, client.Output{File: "out.o", Key: "obj", Perm: 1}, ""},
		{"dir/a.bin=k=v", client.PermRW, client.Output{File: "dir/a.bin", Key: "k=v", Perm: 3}, ""},
		{"a=b:c", client.PermR, client.Output{File: "a", Key: "b:c", Perm: 1}, ""},
		{"noequals", client.PermR, client.Output{}, "FILE=KEY"},
		{"=key", client.PermR, client.Output{}, "FILE=KEY"},
		{"file=", client.PermR, client.Output{}, "FILE=KEY"},
		{"/abs=key", client.PermR, client.Output{}, "relative"},
		{"../x=key", client.PermR, client.Output{}, ".."},
	}
	for _, tt := range tests {
		got, err := parseOut(tt.in, tt.perm)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("parseOut(%q) err = %v; want one containing %q", tt.in, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("parseOut(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}

func TestParsePerm(t *testing.T) {
	tests := []struct {
		in   string
		want client.Perm
		ok   bool
	}{
		{"r", client.PermR, true}, {"rw", client.PermRW, true}, {"rx", client.PermRX, true},
		{"rwx", client.PermRWX, true}, {"wr", client.PermRW, true},
		{"w", 0, false}, {"x", 0, false}, {"wx", 0, false}, {"", 0, false}, {"rr", 0, false}, {"rq", 0, false},
	}
	for _, tt := range tests {
		got, err := client.ParsePerm(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("ParsePerm(%q) = %v, %v; want %v, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestExecFlags_options(t *testing.T) {
	f := execFlags{
		args:    []string{"a,b", "c"},
		deps:    []string{"in:x.txt", "other"},
		inline:  []string{"cfg"},
		outs:    []string{"out.o=obj"},
		outPerm: "rw",
		raw:     true,
		timeout: 5 * time.Second,
		node:    "node-2",
	}
	got, err := f.options()
	if err != nil {
		t.Fatal(err)
	}
	want := client.ExecOptions{
		Args: []string{"a,b", "c"},
		Deps: []wire.Dep{
			{Key: "in", AsFile: true, Name: "x.txt"},
			{Key: "other", AsFile: true},
			{Key: "cfg"},
		},
		Outputs: []wire.Output{{File: "out.o", Key: "obj", Perm: uint8(client.PermRW)}},
		Raw:     true, Timeout: 5 * time.Second, Node: "node-2",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("options = %+v\n want %+v", got, want)
	}

	bad := []struct {
		name string
		f    execFlags
		want string
	}{
		{"out perm", execFlags{outPerm: "w"}, "--out-perm"},
		{"placement", execFlags{outPerm: "r", placement: "random"}, "--placement"},
		{"timeout", execFlags{outPerm: "r", timeout: -time.Second}, "--timeout"},
		{"inline", execFlags{outPerm: "r", inline: []string{""}}, "--inline"},
	}
	for _, tt := range bad {
		if _, err := tt.f.options(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v; want one containing %q", tt.name, err, tt.want)
		}
	}
	ok := execFlags{outPerm: "r", placement: "most-bytes"}
	if _, err := ok.options(); err != nil {
		t.Errorf("placement most-bytes: %v", err)
	}
}

func TestExitCode(t *testing.T) {
	for rc, want := range map[int]int{0: 0, 3: 3, 255: 255, 256: 255, -1: 255} {
		if got := exitCode(rc); got != want {
			t.Errorf("exitCode(%d) = %d; want %d", rc, got, want)
		}
	}
}

func TestDescribe(t *testing.T) {
	notFound := &client.StatusError{Status: wire.StatusNotFound, Message: "store: key not found"}
	readOnly := &client.StatusError{Status: wire.StatusReadOnly, Message: "store: key is read-only"}
	unauth := &client.StatusError{Status: wire.StatusUnauthorized, Message: "hello with a valid token required"}
	failed := &client.StatusError{Status: wire.StatusExecFailed, Message: "sandbox: socket denied"}
	tests := []struct {
		err  error
		want string
	}{
		{&keyError{key: "x", err: notFound}, `not found: key "x"`},
		{&keyError{key: "x", hint: "use --force", err: readOnly}, `read-only: key "x" (use --force)`},
		{unauth, "unauthorized: hello with a valid token required"},
		{errors.Join(client.ErrNoNodes, unauth), "unauthorized: hello with a valid token required"},
		{&keyError{key: "f", err: failed}, `execution failed: key "f": sandbox: socket denied`},
		{errors.New("plain"), "plain"},
	}
	for _, tt := range tests {
		if got := describe(tt.err); got != tt.want {
			t.Errorf("describe(%v) = %q; want %q", tt.err, got, tt.want)
		}
	}
	if got := oneLine("a\nb\r\n"); got != "a; b" {
		t.Errorf("oneLine = %q; want %q", got, "a; b")
	}
}
