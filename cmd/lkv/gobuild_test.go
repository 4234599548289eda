package main

import (
	"bytes"
	"errors"
	"os/exec"
	"strings"
	"testing"
)

func TestGobuild_badInput(t *testing.T) {
	tests := []struct {
		name   string
		args   []string
		want   string
		needGo bool
	}{
		{"placement", []string{"gobuild", "--placement", "nearest"}, "--placement", false},
		{"jobs", []string{"gobuild", "--jobs", "-1"}, "--jobs -1", false},
		{"not main", []string{"gobuild", "--local", "-o", "x", "errors"}, "not a main package", true},
		{"no such package", []string{"gobuild", "--local", "example.invalid/nothing"}, "go build", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.needGo && !hasGo() {
				t.Skip("no go command")
			}
			var stdout, stderr bytes.Buffer
			code := run(tt.args, strings.NewReader(""), &stdout, &stderr)
			if code == 0 || !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("exit %d, stderr %q; want a failure naming %q", code, stderr.String(), tt.want)
			}
		})
	}
}

func hasGo() bool {
	_, err := exec.LookPath("go")
	return err == nil
}

func TestLimitHint(t *testing.T) {
	err := limitHint(errors.New(`thunk "compile runtime": execution failed: cpu limit`))
	if !strings.Contains(err.Error(), "max_limits") {
		t.Errorf("limitHint = %v; want a hint about max_limits", err)
	}
	plain := errors.New("thunk x: return code 2: syntax error")
	if limitHint(plain) != plain {
		t.Errorf("limitHint changed %v", plain)
	}
}
