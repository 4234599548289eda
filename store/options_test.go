package store_test

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdakv/lambdakv/store"
)

func TestParseSyncMode(t *testing.T) {
	tests := []struct {
		in      string
		want    store.SyncMode
		wantErr bool
	}{
		{"always", store.SyncAlways, false},
		{"none", store.SyncNone, false},
		{"", 0, true},
		{"Always", 0, true},
		{"everysec", 0, true},
	}
	for _, tt := range tests {
		got, err := store.ParseSyncMode(tt.in)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ParseSyncMode(%q) = %v, %v; want %v, err=%t", tt.in, got, err, tt.want, tt.wantErr)
		}
		if err == nil && got.String() != tt.in {
			t.Errorf("SyncMode(%d).String() = %q; want %q", got, got.String(), tt.in)
		}
	}
}

func TestOptions_Validate(t *testing.T) {
	tests := []struct {
		name    string
		mod     func(*store.Options)
		wantErr string // substring naming the field; empty means valid
	}{
		{"defaults", func(*store.Options) {}, ""},
		{"zero value", func(o *store.Options) { *o = store.Options{} }, ""},
		{"sync", func(o *store.Options) { o.Sync = 7 }, "Sync"},
		{"negative value size", func(o *store.Options) { o.MaxValueSize = -1 }, "MaxValueSize"},
		{"value size over bbolt", func(o *store.Options) { o.MaxValueSize = 1 << 31 }, "MaxValueSize"},
		{"batch ops", func(o *store.Options) { o.MaxBatchOps = -1 }, "MaxBatchOps"},
		{"batch bytes", func(o *store.Options) { o.MaxBatchBytes = -1 }, "MaxBatchBytes"},
		{"mmap", func(o *store.Options) { o.InitialMmapSize = -1 }, "InitialMmapSize"},
		{"lock timeout", func(o *store.Options) { o.LockTimeout = -time.Second }, "LockTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := store.DefaultOptions()
			tt.mod(o)
			err := o.Validate()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Validate() = %v; want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Validate() = %v; want an error naming %s", err, tt.wantErr)
			}
			if tt.wantErr != "" {
				path := filepath.Join(t.TempDir(), "s.db")
				if s, err := store.Open(path, o); err == nil {
					_ = s.Close()
					t.Errorf("Open with invalid options succeeded")
				}
			}
		})
	}
}

func TestDefaultOptions_fresh(t *testing.T) {
	a, b := store.DefaultOptions(), store.DefaultOptions()
	a.MaxBatchOps = 1
	if b.MaxBatchOps != store.DefaultMaxBatchOps {
		t.Errorf("DefaultOptions shares state: MaxBatchOps=%d; want %d", b.MaxBatchOps, store.DefaultMaxBatchOps)
	}
}
