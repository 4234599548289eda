package gobuild

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/lambdakv/lambdakv/client"
)

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
