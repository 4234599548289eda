package gobuild

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

// ClusterExecutor runs thunks on a lambdakv cluster. It is safe for
// concurrent use.
type ClusterExecutor struct {
	Client *client.Client
	// Placement chooses the node; nil means the client's default.
	Placement client.Placement
}

var _ Executor = (*ClusterExecutor)(nil)

// Exec runs th on a node; a tool that exits non-zero is a *ToolError.
func (e *ClusterExecutor) Exec(ctx context.Context, th *client.Thunk) (*client.ExecResult, error) {
	opts, err := ExecOptions(th)
	if err != nil {
		return nil, err
	}
	opts.Placement = e.Placement
	res, err := e.Client.Exec(ctx, th.Lambda, opts)
	if err != nil {
		return nil, err
	}
	if res.ReturnCode != 0 {
		return res, &ToolError{ID: th.ID, Code: res.ReturnCode, Output: res.Output, Stderr: res.Stderr}
	}
	return res, nil
}

// ExecOptions turns a thunk into the options of one execution.
func ExecOptions(th *client.Thunk) (client.ExecOptions, error) {
	opts := client.ExecOptions{
		Args: th.Args, Env: th.Env, Raw: th.Raw, Timeout: time.Duration(th.Timeout), Limits: th.Limits,
	}
	for _, d := range th.Deps {
		opts.Deps = append(opts.Deps, client.Dep{Key: d.Key, AsFile: d.AsFile, Name: d.Name})
	}
	for _, o := range th.Outputs {
		perm := client.PermR
		if o.Perm != "" {
			p, err := client.ParsePerm(o.Perm)
			if err != nil {
				return opts, fmt.Errorf("thunk %s output %s: %w", th.ID, o.File, err)
			}
			perm = p
		}
		opts.Outputs = append(opts.Outputs, client.Output{File: o.File, Key: o.Key, Perm: uint8(perm)})
	}
	return opts, nil
}

// UploadStats says what UploadFiles did.
type UploadStats struct {
	Stored, Present int   // keys put, keys that were there already
	Bytes           int64 // bytes put
	Wall            time.Duration
}

// UploadFiles stores the plan's tools and files that the cluster does not hold
// yet. Keys are named by their content, so a key that exists holds the
// right bytes and is skipped.
func UploadFiles(ctx context.Context, c *client.Client, ups []Upload) (UploadStats, error) {
	start := time.Now()
	var st UploadStats
	keys := make([]string, len(ups))
	for i, u := range ups {
		keys[i] = u.Key
	}
	have, err := Existing(ctx, c, keys)
	if err != nil {
		return st, err
	}
	const window = 64 // puts in flight
	type inflight struct {
		f   *client.Future[uint64]
		key string
	}
	var q []inflight
	wait := func(n int) error {
		for len(q) > n {
			if _, err := q[0].f.Wait(); err != nil {
				return fmt.Errorf("upload %s: %w", q[0].key, err)
			}
			q = q[1:]
		}
		return nil
	}
	for _, u := range ups {
		if have[u.Key] {
			st.Present++
			continue
		}
		data := u.Data
		if u.Path != "" {
			if data, err = os.ReadFile(u.Path); err != nil {
				return st, err
			}
		}
		if err := wait(window - 1); err != nil {
			return st, err
		}
		q = append(q, inflight{c.PutAsync(ctx, u.Key, data, client.WithPerm(u.Perm)), u.Key})
		st.Stored++
		st.Bytes += int64(len(data))
	}
	err = wait(0)
	st.Wall = time.Since(start)
	return st, err
}

// Existing returns which of keys the cluster holds.
func Existing(ctx context.Context, c *client.Client, keys []string) (map[string]bool, error) {
	have := make(map[string]bool, len(keys))
	const batch = 1000
	for i := 0; i < len(keys); i += batch {
		infos, err := c.Stat(ctx, keys[i:min(i+batch, len(keys))]...)
		if err != nil {
			return nil, fmt.Errorf("stat: %w", err)
		}
		for _, in := range infos {
			if in.Found {
				have[in.Key] = true
			}
		}
	}
	return have, nil
}
