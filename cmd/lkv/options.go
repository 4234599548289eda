package main

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/lambdakv/lambdakv/jail"
)

// option is one agent setting. Its name is the HCL attribute; the flag is
// the name with '-' for '_', the environment variable LKV_ and the name in
// upper case. Options in the file's limits and max_limits blocks are named
// limit_<attr> and max_limit_<attr> here.
type option struct {
	name  string
	typ   string // shown in --help: string, int, bool, size, duration, list
	def   string // the default, shown in --help; "" shows none
	usage string
	set   func(c *agentConfig, v string) error
}

func (o *option) flag() string { return strings.ReplaceAll(o.name, "_", "-") }
func (o *option) env() string  { return "LKV_" + strings.ToUpper(o.name) }

// agentOptions lists every agent setting, in the order they are applied
// within one layer.
func agentOptions() []option {
	opts := []option{
		{"dev", "bool", "", "development mode: data in a temporary directory removed on exit (unless --data-dir is set), sync none",
			setBool(func(c *agentConfig) *bool { return &c.Dev })},
		{"node_id", "string", "", "node id; if blank, one is made on first start and kept in the data directory",
			setString(func(c *agentConfig) *string { return &c.NodeID })},
		{"data_dir", "string", "", "directory for the store file and the node id (required unless --dev)",
			setString(func(c *agentConfig) *string { return &c.DataDir })},
		{"bind", "string", "127.0.0.1", "address the client and HTTP listeners bind to (0.0.0.0: every interface)",
			setString(func(c *agentConfig) *string { return &c.Bind })},
		{"advertise", "string", "", "host other nodes and clients use to reach this one (default: the bind address)",
			setString(func(c *agentConfig) *string { return &c.Advertise })},
		{"port", "int", "7370", "client port (0 picks a free port)",
			setInt(func(c *agentConfig) *int { return &c.Port })},
		{"gossip_port", "int", "7371", "gossip (membership) port",
			setInt(func(c *agentConfig) *int { return &c.GossipPort })},
		{"http_port", "int", "7372", "HTTP port for /metrics, /v1/status and the status page (0 picks a free port, -1 disables)",
			setInt(func(c *agentConfig) *int { return &c.HTTPPort })},
		{"join", "list", "", "gossip address HOST[:PORT] of any running node to join; repeat or separate with commas",
			setList(func(c *agentConfig) *[]string { return &c.Join })},
		{"cluster", "string", defaultCluster, "cluster name; nodes of different clusters never merge",
			setString(func(c *agentConfig) *string { return &c.Cluster })},
		{"encrypt", "string", "", "gossip encryption key, base64 of 16, 24 or 32 bytes",
			setString(func(c *agentConfig) *string { return &c.Encrypt })},
		{"token", "string", "", "token clients must present in hello before any other request",
			setString(func(c *agentConfig) *string { return &c.Token })},
		{"role", "string", defaultRole, "node role: auto, master, replica or compute",
			setString(func(c *agentConfig) *string { return &c.Role })},
		{"replicas", "int", "0", "replicas wanted per master: joining nodes of role auto become replicas of masters that lack them",
			setInt(func(c *agentConfig) *int { return &c.Replicas })},
		{"isolation_timeout", "duration", "1.5s", "a master with replicas that cannot see a majority of the masters for this long refuses writes (negative: never)",
			setDuration(func(c *agentConfig) *time.Duration { return &c.IsolationTimeout })},
		{"replica_ack_timeout", "duration", "5s", "how long a put with min_replicas waits for its replicas",
			setDuration(func(c *agentConfig) *time.Duration { return &c.ReplicaAckTimeout })},
		{"replica_forget", "duration", "10m", "a replica dead this long is dropped from the slot table so that its master gets another",
			setDuration(func(c *agentConfig) *time.Duration { return &c.ReplicaForget })},
		{"probe_interval", "duration", "500ms", "failure detector: each node probes one other this often; a crashed node is declared dead after about 5-7 of these (same on every node)",
			setDuration(func(c *agentConfig) *time.Duration { return &c.ProbeInterval })},
		{"suspicion_mult", "int", "4", "failure detector: how many probe intervals a suspected node has to refute it (times log10 of the cluster size)",
			setInt(func(c *agentConfig) *int { return &c.SuspicionMult })},
		{"executors", "int", "", "lambdas run at once (default: number of CPUs; 0: none, the node only stores)",
			setInt(func(c *agentConfig) *int { return &c.Executors })},
		{"pipeline", "int", "", "executions that may wait for an executor (default: 2 × executors)",
			setInt(func(c *agentConfig) *int { return &c.Pipeline })},
		{"cache_bytes", "size", "256MiB", "bytes of immutable remote values to cache",
			setSize(func(c *agentConfig) *int64 { return &c.CacheBytes })},
		{"tls_cert", "string", "", "PEM certificate file; with tls_key enables TLS on the client port",
			setString(func(c *agentConfig) *string { return &c.TLSCert })},
		{"tls_key", "string", "", "PEM private key file for tls_cert",
			setString(func(c *agentConfig) *string { return &c.TLSKey })},
		{"tls_ca", "string", "", "PEM CA file this node verifies other nodes' certificates with (default: the system roots)",
			setString(func(c *agentConfig) *string { return &c.TLSCA })},
		{"sync", "string", "", "when writes reach the disk: always (fsync before acknowledging; default) or none (default with --dev)",
			setString(func(c *agentConfig) *string { return &c.Sync })},
		{"max_value_size", "size", "256MiB", "largest value accepted",
			setSize(func(c *agentConfig) *int64 { return &c.MaxValueSize })},
		{"log_level", "string", defaultLogLevel, "log level: trace, debug, info, warn, error or off",
			setString(func(c *agentConfig) *string { return &c.LogLevel })},
		{"log_json", "bool", "", "write logs as JSON lines instead of text",
			setBool(func(c *agentConfig) *bool { return &c.LogJSON })},
		{"jail_dir", "string", "", "absolute directory for lambda working directories and the binary cache (default: a directory in $TMPDIR)",
			setString(func(c *agentConfig) *string { return &c.JailDir })},
		{"link_delay", "duration", "", "lab and testing: one-way delay added to each direction of connections to the client port (lkv lab up)",
			setDuration(func(c *agentConfig) *time.Duration { return &c.LinkDelay })},
		{"link_rate", "rate", "", "lab and testing: limit on each direction of those connections, bytes/s (12MB, 1GiB) or bits/s (100mbit, 1gbit)",
			setRate(func(c *agentConfig) *int64 { return &c.LinkRate })},
	}
	opts = append(opts, limitOptions("limit_", "default limit per lambda run: ", builtinLimitDefaults(),
		func(c *agentConfig) *jail.Limits { return &c.Limits })...)
	opts = append(opts, limitOptions("max_limit_", "largest limit a request may ask for (default: the default limit): ", [7]string{},
		func(c *agentConfig) *jail.Limits { return &c.MaxLimits })...)
	return opts
}

// limitOptions are the fields of a jail.Limits, named prefix+field, with
// their defaults for --help in the order wall, cpu, memory, procs,
// file_size, open_files, stdout.
func limitOptions(prefix, what string, def [7]string, lim func(*agentConfig) *jail.Limits) []option {
	return []option{
		{prefix + "wall", "duration", def[0], what + "wall-clock time",
			setDuration(func(c *agentConfig) *time.Duration { return &lim(c).Wall })},
		{prefix + "cpu", "duration", def[1], what + "CPU time",
			setDuration(func(c *agentConfig) *time.Duration { return &lim(c).CPU })},
		{prefix + "memory", "size", def[2], what + "memory",
			setSize(func(c *agentConfig) *int64 { return &lim(c).Memory })},
		{prefix + "procs", "int", def[3], what + "processes and threads",
			setInt(func(c *agentConfig) *int { return &lim(c).Procs })},
		{prefix + "file_size", "size", def[4], what + "size of a file written",
			setSize(func(c *agentConfig) *int64 { return &lim(c).FileSize })},
		{prefix + "open_files", "int", def[5], what + "open files",
			setInt(func(c *agentConfig) *int { return &lim(c).OpenFiles })},
		{prefix + "stdout", "size", def[6], what + "bytes of output",
			setSize(func(c *agentConfig) *int64 { return &lim(c).Stdout })},
	}
}

// builtinLimitDefaults are the jail's default limits, for --help.
func builtinLimitDefaults() [7]string {
	return [7]string{
		jail.DefaultWall.String(), jail.DefaultCPU.String(), formatSize(jail.DefaultMemory),
		strconv.Itoa(jail.DefaultProcs), formatSize(jail.DefaultFileSize),
		strconv.Itoa(jail.DefaultOpenFiles), formatSize(jail.DefaultStdout),
	}
}

// formatSize writes n with the largest binary unit that divides it.
func formatSize(n int64) string {
	for _, u := range []struct {
		suffix string
		mult   int64
	}{{"TiB", 1 << 40}, {"GiB", 1 << 30}, {"MiB", 1 << 20}, {"KiB", 1 << 10}} {
		if n != 0 && n%u.mult == 0 {
			return strconv.FormatInt(n/u.mult, 10) + u.suffix
		}
	}
	return strconv.FormatInt(n, 10)
}

func setString(field func(*agentConfig) *string) func(*agentConfig, string) error {
	return func(c *agentConfig, v string) error {
		*field(c) = v
		return nil
	}
}

func setInt(field func(*agentConfig) *int) func(*agentConfig, string) error {
	return func(c *agentConfig, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not an integer", v)
		}
		*field(c) = n
		return nil
	}
}

func setBool(field func(*agentConfig) *bool) func(*agentConfig, string) error {
	return func(c *agentConfig, v string) error {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			return fmt.Errorf("%q is not true or false", v)
		}
		*field(c) = b
		return nil
	}
}

func setSize(field func(*agentConfig) *int64) func(*agentConfig, string) error {
	return func(c *agentConfig, v string) error {
		n, err := parseSize(v)
		if err != nil {
			return err
		}
		*field(c) = n
		return nil
	}
}

func setDuration(field func(*agentConfig) *time.Duration) func(*agentConfig, string) error {
	return func(c *agentConfig, v string) error {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration such as 30s or 1m30s", v)
		}
		*field(c) = d
		return nil
	}
}

// setList splits v at commas; each layer replaces the list.
func setList(field func(*agentConfig) *[]string) func(*agentConfig, string) error {
	return func(c *agentConfig, v string) error {
		var out []string
		for _, s := range strings.Split(v, ",") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
		*field(c) = out
		return nil
	}
}

func setRate(field func(*agentConfig) *int64) func(*agentConfig, string) error {
	return func(c *agentConfig, v string) error {
		n, err := parseRate(v)
		if err != nil {
			return err
		}
		*field(c) = n
		return nil
	}
}

// rateUnits are bit rates as tc writes them (decimal).
var rateUnits = []struct {
	suffix string
	bits   float64
}{{"gbit", 1e9}, {"mbit", 1e6}, {"kbit", 1e3}, {"bit", 1}}

// parseRate parses a rate in bytes per second: a size such as 12MB or
// 125000000 (bytes), or a bit rate as tc writes it, such as 100mbit or
// 1.5gbit; an optional "/s" is ignored. 0 means no limit.
func parseRate(s string) (int64, error) {
	t := strings.TrimSuffix(strings.ToLower(strings.TrimSpace(s)), "/s")
	for _, u := range rateUnits {
		if num, ok := strings.CutSuffix(t, u.suffix); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
			if err != nil || f < 0 || f*u.bits/8 > math.MaxInt64/2 {
				break
			}
			return int64(f * u.bits / 8), nil
		}
	}
	n, err := parseSize(t)
	if err != nil {
		return 0, fmt.Errorf("%q is not a rate such as 100mbit, 1gbit or 12MB (bytes per second)", s)
	}
	return n, nil
}

// sizeUnits are the suffixes parseSize accepts, longest first. K, M, G and
// T alone are binary (1024), like the IEC ones; KB, MB, GB, TB are decimal.
var sizeUnits = []struct {
	suffix string
	mult   int64
}{
	{"kib", 1 << 10}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1 << 40},
	{"kb", 1e3}, {"mb", 1e6}, {"gb", 1e9}, {"tb", 1e12},
	{"k", 1 << 10}, {"m", 1 << 20}, {"g", 1 << 30}, {"t", 1 << 40},
	{"b", 1},
}

// parseSize parses a byte count: a non-negative integer with an optional
// unit, such as 4096, 64KiB, 256MiB, 1GB or 512k.
func parseSize(s string) (int64, error) {
	t := strings.ToLower(strings.TrimSpace(s))
	mult := int64(1)
	for _, u := range sizeUnits {
		if strings.HasSuffix(t, u.suffix) {
			t, mult = strings.TrimSpace(strings.TrimSuffix(t, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 0 || n > math.MaxInt64/mult {
		return 0, fmt.Errorf("%q is not a size such as 4096, 64KiB or 256MiB", s)
	}
	return n * mult, nil
}
