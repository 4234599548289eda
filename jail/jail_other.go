//go:build !(linux && amd64)

package jail

import (
	"context"
	"fmt"
	"runtime"
)

// Jail runs lambdas in a sandbox. On this platform it cannot: New returns
// ErrUnsupported.
type Jail struct{}

// Binary is a validated lambda executable. It cannot be created on this
// platform.
type Binary struct{}

// ID returns the id the Binary was loaded under.
func (b *Binary) ID() string { return "" }

// Size returns the executable's size in bytes.
func (b *Binary) Size() int64 { return 0 }

func unsupported() error {
	return fmt.Errorf("%w: the jail needs linux/amd64, not %s/%s", ErrUnsupported, runtime.GOOS, runtime.GOARCH)
}

// New returns ErrUnsupported on this platform.
func New(cfg *Config) (*Jail, error) { return nil, unsupported() }

// Start returns ErrUnsupported on this platform.
func (j *Jail) Start(ctx context.Context) error { return unsupported() }

// Features reports no protections on this platform.
func (j *Jail) Features() Features { return Features{} }

// CachedBinary finds nothing on this platform.
func (j *Jail) CachedBinary(id string) (*Binary, bool) { return nil, false }

// LoadBinary returns ErrUnsupported on this platform.
func (j *Jail) LoadBinary(id string, data []byte) (*Binary, error) { return nil, unsupported() }

// Run returns ErrUnsupported on this platform.
func (j *Jail) Run(ctx context.Context, b *Binary, spec *Spec) (*Result, error) {
	return nil, unsupported()
}

// Shutdown does nothing on this platform.
func (j *Jail) Shutdown(ctx context.Context) error { return nil }

// ShutdownCh returns a closed channel on this platform.
func (j *Jail) ShutdownCh() <-chan struct{} {
	ch := make(chan struct{})
	close(ch)
	return ch
}
