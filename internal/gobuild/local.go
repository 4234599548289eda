package gobuild

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

// LocalExecutor runs thunks on this machine the way a node does, without
// the sandbox: a fresh directory holding only the thunk's dependencies,
// the environment it declares and nothing else, @CWD@ replaced by that
// directory, outputs read back and kept by key. It isolates translation
// mistakes from sandbox ones. It is safe for concurrent use.
type LocalExecutor struct {
	mu    sync.Mutex
	paths map[string]string // key → local file of an upload
	blobs map[string][]byte // key → value (uploaded data and outputs)
}

var _ Executor = (*LocalExecutor)(nil)

// NewLocalExecutor returns an executor that holds the uploads.
func NewLocalExecutor(ups []Upload) *LocalExecutor {
	e := &LocalExecutor{paths: make(map[string]string), blobs: make(map[string][]byte)}
	for _, u := range ups {
		if u.Path != "" {
			e.paths[u.Key] = u.Path
		} else {
			e.blobs[u.Key] = u.Data
		}
	}
	return e
}

// Get returns the value of key.
func (e *LocalExecutor) Get(key string) ([]byte, error) {
	e.mu.Lock()
	b, ok := e.blobs[key]
	p := e.paths[key]
	e.mu.Unlock()
	if ok {
		return b, nil
	}
	if p == "" {
		return nil, fmt.Errorf("key %q: %w", key, client.ErrNotFound)
	}
	return os.ReadFile(p)
}

// Exec runs th in a temporary directory.
func (e *LocalExecutor) Exec(ctx context.Context, th *client.Thunk) (*client.ExecResult, error) {
	start := time.Now()
	dir, err := os.MkdirTemp("", "lkv-thunk-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	outs := make(map[string]bool)
	for _, o := range th.Outputs {
		outs[o.File] = true
		if err := os.MkdirAll(filepath.Join(dir, filepath.Dir(o.File)), 0o755); err != nil {
			return nil, err
		}
	}
	for _, d := range th.Deps {
		b, err := e.Get(d.Key)
		if err != nil {
			return nil, err
		}
		p := filepath.Join(dir, d.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		mode := os.FileMode(0o444)
		if outs[d.Name] {
			mode = 0o644
		}
		if err := os.WriteFile(p, b, mode); err != nil {
			return nil, err
		}
	}
	tool, ok := e.paths[th.Lambda]
	if !ok {
		return nil, fmt.Errorf("tool %q: %w", th.Lambda, client.ErrNotFound)
	}
	expand := func(ss []string) []string {
		out := make([]string, len(ss))
		for i, s := range ss {
			out[i] = strings.ReplaceAll(s, client.WorkDirArg, dir)
		}
		return out
	}
	cmd := exec.CommandContext(ctx, tool)
	cmd.Args = append([]string{th.Lambda}, expand(th.Args)...)
	cmd.Env = expand(th.Env)
	if cmd.Env == nil {
		cmd.Env = []string{}
	}
	cmd.Dir = dir
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runStart := time.Now()
	err = cmd.Run()
	res := &client.ExecResult{Output: []byte(stdout.String()), Stderr: []byte(stderr.String()), Node: "local",
		Stats: &client.ExecStats{RunMicros: time.Since(runStart).Microseconds()}}
	if ee, ok := err.(*exec.ExitError); ok {
		res.ReturnCode = ee.ExitCode()
		return res, &ToolError{ID: th.ID, Code: res.ReturnCode, Output: res.Output, Stderr: res.Stderr}
	} else if err != nil {
		return nil, err
	}
	for _, o := range th.Outputs {
		b, err := os.ReadFile(filepath.Join(dir, o.File))
		if err != nil {
			return nil, fmt.Errorf("%s: output %s: %w", th.ID, o.File, err)
		}
		e.mu.Lock()
		e.blobs[o.Key] = b
		e.mu.Unlock()
	}
	res.Stats.FetchMicros = runStart.Sub(start).Microseconds()
	return res, nil
}
