package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// loadForTest parses args as agent flags, with the HCL text file (if not
// empty) as --config and env as the environment.
func loadForTest(t *testing.T, file string, args []string, env map[string]string) (*agentConfig, error) {
	t.Helper()
	fs := pflag.NewFlagSet("agent", pflag.ContinueOnError)
	registerAgentFlags(fs)
	if file != "" {
		path := filepath.Join(t.TempDir(), "agent.hcl")
		if err := os.WriteFile(path, []byte(file), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"--config", path}, args...)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	return loadAgentConfig(fs, func(k string) (string, bool) {
		v, ok := env[k]
		return v, ok
	})
}

func TestLoadAgentConfig_precedence(t *testing.T) {
	const file = `
data_dir = "/from/file"
port     = 1001
token    = "file-token"
sync     = "none"
join     = ["10.0.0.1", "10.0.0.2:8000"]
limits {
  wall   = "5s"
  memory = "64MiB"
}
`
	tests := []struct {
		name  string
		file  string
		args  []string
		env   map[string]string
		check func(*agentConfig) string
	}{
		{"defaults", "", []string{"--data-dir", "d"}, nil, func(c *agentConfig) string {
			return diff(c.Port, 7370) + diff(c.HTTPPort, 7372) + diff(c.GossipPort, 7371) + diff(c.Bind, "127.0.0.1") +
				diff(c.syncMode(), "always") + diff(c.Role, "auto") + diff(c.CacheBytes, int64(256<<20)) + diff(c.LogLevel, "info")
		}},
		{"file over defaults", file, nil, nil, func(c *agentConfig) string {
			return diff(c.DataDir, "/from/file") + diff(c.Port, 1001) + diff(c.Token, "file-token") +
				diff(c.syncMode(), "none") + diff(strings.Join(c.Join, " "), "10.0.0.1:7371 10.0.0.2:8000") +
				diff(c.Limits.Wall, 5*time.Second) + diff(c.Limits.Memory, int64(64<<20)) + diff(c.HTTPPort, 7372)
		}},
		{"flags over file", file, []string{"--port", "2002", "--join", "a", "--join", "b,c", "--limit-wall", "7s"}, nil, func(c *agentConfig) string {
			return diff(c.Port, 2002) + diff(c.Token, "file-token") + diff(strings.Join(c.Join, " "), "a:7371 b:7371 c:7371") +
				diff(c.Limits.Wall, 7*time.Second) + diff(c.Limits.Memory, int64(64<<20))
		}},
		{"env over flags and file", file, []string{"--port", "2002", "--token", "flag-token"},
			map[string]string{"LKV_PORT": "3003", "LKV_DATA_DIR": "/from/env", "LKV_LIMIT_WALL": "9s", "LKV_JOIN": "x,y"},
			func(c *agentConfig) string {
				return diff(c.Port, 3003) + diff(c.Token, "flag-token") + diff(c.DataDir, "/from/env") +
					diff(c.Limits.Wall, 9*time.Second) + diff(strings.Join(c.Join, " "), "x:7371 y:7371")
			}},
		{"empty env is unset", file, nil, map[string]string{"LKV_TOKEN": "", "LKV_PORT": ""}, func(c *agentConfig) string {
			return diff(c.Token, "file-token") + diff(c.Port, 1001)
		}},
		{"flag false over file true", "dev = true\n", []string{"--dev=false", "--data-dir", "d"}, nil, func(c *agentConfig) string {
			return diff(c.Dev, false) + diff(c.syncMode(), "always")
		}},
		{"dev needs no data dir", "", []string{"--dev"}, nil, func(c *agentConfig) string {
			return diff(c.Dev, true) + diff(c.DataDir, "") + diff(c.syncMode(), "none") + diff(c.Port, 7370) + diff(c.HTTPPort, 7372)
		}},
		{"dev from env, sync from flag", "", []string{"--sync", "always"}, map[string]string{"LKV_DEV": "true"}, func(c *agentConfig) string {
			return diff(c.Dev, true) + diff(c.syncMode(), "always")
		}},
		{"sizes and bools everywhere", "cache_bytes = 1048576\nlog_json = true\n", []string{"--max-value-size", "1MiB", "--data-dir", "d"},
			map[string]string{"LKV_EXECUTORS": "-1", "LKV_HTTP_PORT": "-1"}, func(c *agentConfig) string {
				return diff(c.CacheBytes, int64(1<<20)) + diff(c.LogJSON, true) + diff(c.MaxValueSize, int64(1<<20)) +
					diff(c.Executors, -1) + diff(c.HTTPPort, -1)
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := loadForTest(t, tt.file, tt.args, tt.env)
			if err != nil {
				t.Fatalf("load: %v", err)
			}
			if d := tt.check(c); d != "" {
				t.Error(d)
			}
		})
	}
}

// diff returns "" when got equals want, else a got/want line.
func diff[T comparable](got, want T) string {
	if got == want {
		return ""
	}
	return fmt.Sprintf("got %v; want %v\n", got, want)
}

func TestLoadAgentConfig_errors(t *testing.T) {
	tests := []struct {
		name string
		file string
		args []string
		env  map[string]string
		want string // in the error
	}{
		{"no data dir", "", nil, nil, "data_dir is required"},
		{"bad port flag", "", []string{"--port", "x"}, nil, "not an integer"},
		{"port out of range", "", []string{"--dev", "--port", "70000"}, nil, "port 70000"},
		{"bad env", "", []string{"--dev"}, map[string]string{"LKV_PORT": "seven"}, "LKV_PORT"},
		{"bad file value", "port = \"seven\"\n", []string{"--dev"}, nil, "port"},
		{"unknown file attribute", "prot = 7370\n", []string{"--dev"}, nil, "prot"},
		{"file syntax", "port = = 1\n", []string{"--dev"}, nil, "config file"},
		{"role", "", []string{"--dev", "--role", "boss"}, nil, "role"},
		{"sync", "", []string{"--dev", "--sync", "sometimes"}, nil, "sync"},
		{"log level", "", []string{"--dev", "--log-level", "loud"}, nil, "log_level"},
		{"tls half", "", []string{"--dev", "--tls-cert", "c.pem"}, nil, "tls_key"},
		{"encrypt not base64", "", []string{"--dev", "--encrypt", "!!"}, nil, "encrypt"},
		{"encrypt length", "", []string{"--dev", "--encrypt", "YWJj"}, nil, "3 bytes"},
		{"join", "", []string{"--dev", "--join", "host:port"}, nil, "join"},
		{"cluster name", "", []string{"--dev", "--cluster", "a b"}, nil, "cluster"},
		{"negative replicas", "", []string{"--dev", "--replicas", "-1"}, nil, "replicas"},
		{"tiny probe interval", "", []string{"--dev", "--probe-interval", "1ms"}, nil, "probe_interval"},
		{"negative suspicion", "", []string{"--dev", "--suspicion-mult", "-2"}, nil, "suspicion_mult"},
		{"size", "", []string{"--dev", "--cache-bytes", "lots"}, nil, "size"},
		{"duration", "limits {\n wall = \"soon\"\n}\n", []string{"--dev"}, nil, "limit_wall"},
		{"relative jail dir", "", []string{"--dev", "--jail-dir", "rel"}, nil, "jail_dir"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadForTest(t, tt.file, tt.args, tt.env)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v; want one containing %q", err, tt.want)
			}
		})
	}
}

// TestOptions_matchFile checks that every option has an attribute in the
// file format and every attribute an option.
func TestOptions_matchFile(t *testing.T) {
	var fc fileConfig
	fillStrings(reflect.ValueOf(&fc).Elem())
	var fromFile []string
	for name := range fileValues(&fc) {
		fromFile = append(fromFile, name)
	}
	var opts []string
	for _, o := range agentOptions() {
		opts = append(opts, o.name)
	}
	slices.Sort(fromFile)
	slices.Sort(opts)
	if !slices.Equal(fromFile, opts) {
		t.Errorf("file attributes %v\n  != options %v", fromFile, opts)
	}
}

// fillStrings sets every *string, []string and block pointer in v.
func fillStrings(v reflect.Value) {
	for i := range v.NumField() {
		f := v.Field(i)
		switch f.Kind() {
		case reflect.Slice:
			f.Set(reflect.ValueOf([]string{"x"}))
		case reflect.Pointer:
			f.Set(reflect.New(f.Type().Elem()))
			if f.Elem().Kind() == reflect.Struct {
				fillStrings(f.Elem())
			}
		}
	}
}

// TestConfigs_parse loads every example in configs/ with the agent's loader
// and checks that the node would accept the result, so they never rot.
func TestConfigs_parse(t *testing.T) {
	var files []string
	err := filepath.WalkDir("../../configs", func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && (strings.HasSuffix(path, ".hcl") || strings.HasSuffix(path, ".json")) {
			files = append(files, path)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d config files (%v); want dev, single and lab/node1..3", len(files), files)
	}
	for _, path := range files {
		t.Run(path, func(t *testing.T) {
			c := defaultAgentConfig()
			if err := c.loadFile(path); err != nil {
				t.Fatal(err)
			}
			if err := c.validate(); err != nil {
				t.Fatalf("validate: %v", err)
			}
			if c.DataDir == "" {
				c.DataDir = t.TempDir()
			}
			pc, _, err := c.peerConfig(testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			if err := pc.Validate(); err != nil {
				t.Fatalf("peer config: %v", err)
			}
		})
	}
}

func TestConfigs_singleValues(t *testing.T) {
	c := defaultAgentConfig()
	if err := c.loadFile("../../configs/single.hcl"); err != nil {
		t.Fatal(err)
	}
	if d := diff(c.Limits.Memory, int64(512<<20)) + diff(c.MaxLimits.Wall, 2*time.Minute) +
		diff(c.syncMode(), "always") + diff(c.Executors, 2) + diff(c.LogJSON, true); d != "" {
		t.Error(d)
	}
}

func TestAgentConfig_peerConfig(t *testing.T) {
	c, err := loadForTest(t, "", []string{"--data-dir", "/d", "--port", "0", "--http-port", "-1", "--sync", "none",
		"--token", "t", "--executors", "3", "--pipeline", "5", "--max-value-size", "1MiB", "--limit-wall", "1m",
		"--join", "10.0.0.9", "--role", "compute"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	pc, notes, err := c.peerConfig(testLogger(t))
	if err != nil {
		t.Fatal(err)
	}
	if d := diff(pc.DataDir, "/d") + diff(pc.Port, 0) + diff(pc.HTTPPort, -1) + diff(pc.Store.Sync.String(), "none") +
		diff(pc.Token, "t") + diff(pc.Executors, 3) + diff(pc.Pipeline, 5) + diff(pc.MaxValueSize, int64(1<<20)) +
		diff(pc.Jail.Defaults.Wall, time.Minute) + diff(pc.Version, version); d != "" {
		t.Error(d)
	}
	if err := pc.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	if len(notes) != 0 || pc.Role != "compute" || len(pc.Join) != 1 {
		t.Errorf("notes = %v, role %q, join %v; want no notes, compute, the join address", notes, pc.Role, pc.Join)
	}
	if d := diff(strings.Join(c.Join, ","), "10.0.0.9:7371"); d != "" {
		t.Error(d)
	}
}

func TestParseSize(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"0", 0, true}, {"4096", 4096, true}, {"64KiB", 64 << 10, true}, {"256MiB", 256 << 20, true},
		{"1GiB", 1 << 30, true}, {"1GB", 1e9, true}, {"512k", 512 << 10, true}, {"2 M", 2 << 20, true},
		{"10b", 10, true}, {" 7 ", 7, true},
		{"", 0, false}, {"-1", 0, false}, {"1.5GiB", 0, false}, {"lots", 0, false}, {"99999999999TiB", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSize(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseSize(%q) = %d, %v; want %d, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}

func TestJoinAddr(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"10.0.0.1", "10.0.0.1:7371", true},
		{"node1.lab:8000", "node1.lab:8000", true},
		{"::1", "[::1]:7371", true},
		{"[::1]:9000", "[::1]:9000", true},
		{"host:port", "", false},
		{"host:0", "", false},
		{"", "", false},
		{":7371", "", false},
	}
	for _, tt := range tests {
		got, err := joinAddr(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("joinAddr(%q) = %q, %v; want %q, ok=%v", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
