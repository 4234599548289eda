package main

import (
	"fmt"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/spf13/pflag"
)

// fileConfig is the shape of an agent configuration file (HCL, or JSON
// when the name ends in .json). Every attribute is optional; an absent one
// leaves the default. Scalars decode as strings (HCL converts numbers and
// bools), so the file, flags and environment share one parser per option.
// Unknown attributes and blocks are errors, so typos do not pass silently.
type fileConfig struct {
	Dev          *string     `hcl:"dev,optional"`
	NodeID       *string     `hcl:"node_id,optional"`
	DataDir      *string     `hcl:"data_dir,optional"`
	Bind         *string     `hcl:"bind,optional"`
	Advertise    *string     `hcl:"advertise,optional"`
	Port         *string     `hcl:"port,optional"`
	GossipPort   *string     `hcl:"gossip_port,optional"`
	HTTPPort     *string     `hcl:"http_port,optional"`
	Join         []string    `hcl:"join,optional"`
	Cluster      *string     `hcl:"cluster,optional"`
	Encrypt      *string     `hcl:"encrypt,optional"`
	Token        *string     `hcl:"token,optional"`
	Role         *string     `hcl:"role,optional"`
	Replicas     *string     `hcl:"replicas,optional"`
	Isolation    *string     `hcl:"isolation_timeout,optional"`
	ReplicaAck   *string     `hcl:"replica_ack_timeout,optional"`
	Probe        *string     `hcl:"probe_interval,optional"`
	Forget       *string     `hcl:"replica_forget,optional"`
	Suspicion    *string     `hcl:"suspicion_mult,optional"`
	Executors    *string     `hcl:"executors,optional"`
	Pipeline     *string     `hcl:"pipeline,optional"`
	CacheBytes   *string     `hcl:"cache_bytes,optional"`
	TLSCert      *string     `hcl:"tls_cert,optional"`
	TLSKey       *string     `hcl:"tls_key,optional"`
	TLSCA        *string     `hcl:"tls_ca,optional"`
	Sync         *string     `hcl:"sync,optional"`
	MaxValueSize *string     `hcl:"max_value_size,optional"`
	LogLevel     *string     `hcl:"log_level,optional"`
	LogJSON      *string     `hcl:"log_json,optional"`
	JailDir      *string     `hcl:"jail_dir,optional"`
	LinkDelay    *string     `hcl:"link_delay,optional"`
	LinkRate     *string     `hcl:"link_rate,optional"`
	Limits       *fileLimits `hcl:"limits,block"`
	MaxLimits    *fileLimits `hcl:"max_limits,block"`
}

// fileLimits is a limits or max_limits block.
type fileLimits struct {
	Wall      *string `hcl:"wall,optional"`
	CPU       *string `hcl:"cpu,optional"`
	Memory    *string `hcl:"memory,optional"`
	Procs     *string `hcl:"procs,optional"`
	FileSize  *string `hcl:"file_size,optional"`
	OpenFiles *string `hcl:"open_files,optional"`
	Stdout    *string `hcl:"stdout,optional"`
}

// blockPrefix maps a block of the file to the prefix of its options' names.
func blockPrefix(block string) string {
	return strings.TrimSuffix(block, "s") + "_" // limits → limit_, max_limits → max_limit_
}

// fileValues lists the options a decoded file sets, by option name.
func fileValues(fc *fileConfig) map[string]string {
	out := make(map[string]string)
	collectFileValues(reflect.ValueOf(fc).Elem(), "", out)
	return out
}

func collectFileValues(v reflect.Value, prefix string, out map[string]string) {
	t := v.Type()
	for i := range t.NumField() {
		name, kind, _ := strings.Cut(t.Field(i).Tag.Get("hcl"), ",")
		f := v.Field(i)
		switch {
		case f.IsNil():
		case kind == "block":
			collectFileValues(f.Elem(), blockPrefix(name), out)
		case f.Kind() == reflect.Slice:
			out[prefix+name] = strings.Join(f.Interface().([]string), ",")
		default:
			out[prefix+name] = f.Elem().String()
		}
	}
}

// decodeFile parses and decodes the configuration file at path.
func decodeFile(path string) (*fileConfig, error) {
	p := hclparse.NewParser()
	var f *hcl.File
	var diags hcl.Diagnostics
	if strings.EqualFold(filepath.Ext(path), ".json") {
		f, diags = p.ParseJSONFile(path)
	} else {
		f, diags = p.ParseHCLFile(path)
	}
	if diags.HasErrors() {
		return nil, fmt.Errorf("config file: %s", diags.Error())
	}
	var fc fileConfig
	if diags := gohcl.DecodeBody(f.Body, nil, &fc); diags.HasErrors() {
		return nil, fmt.Errorf("config file: %s", diags.Error())
	}
	return &fc, nil
}

// loadFile applies the configuration file at path to c.
func (c *agentConfig) loadFile(path string) error {
	fc, err := decodeFile(path)
	if err != nil {
		return err
	}
	vals := fileValues(fc)
	for _, o := range agentOptions() {
		if v, ok := vals[o.name]; ok {
			if err := o.set(c, v); err != nil {
				return fmt.Errorf("config file %s: %s: %w", path, o.name, err)
			}
		}
	}
	return nil
}

// optValue is the pflag.Value of an agent option: it checks the value
// when the flag is parsed and keeps the text for loadAgentConfig.
type optValue struct {
	o   *option
	s   string
	set bool
}

func (v *optValue) String() string { return v.s }
func (v *optValue) Type() string {
	if v.o.typ == "list" {
		return "addrs"
	}
	return v.o.typ
}

func (v *optValue) Set(s string) error {
	if v.o.typ == "list" && v.set && v.s != "" {
		s = v.s + "," + s
	}
	if err := v.o.set(defaultAgentConfig(), s); err != nil {
		return err
	}
	v.s, v.set = s, true
	return nil
}

// registerAgentFlags adds a flag for every agent option to fs.
func registerAgentFlags(fs *pflag.FlagSet) {
	fs.String("config", "", "HCL configuration `FILE` (see configs/); flags override it, LKV_* variables override both")
	opts := agentOptions()
	for i := range opts {
		o := &opts[i]
		f := fs.VarPF(&optValue{o: o}, o.flag(), "", o.usage)
		f.DefValue = o.def
		if o.typ == "bool" {
			f.NoOptDefVal = "true"
		}
	}
}

// loadAgentConfig builds the agent configuration from its layers (DESIGN
// §8): defaults, then the file named by --config, then the flags given on
// the command line, then LKV_* variables from lookupEnv. Empty variables
// count as unset.
func loadAgentConfig(fs *pflag.FlagSet, lookupEnv func(string) (string, bool)) (*agentConfig, error) {
	c := defaultAgentConfig()
	if path, _ := fs.GetString("config"); path != "" {
		if err := c.loadFile(path); err != nil {
			return nil, err
		}
	}
	opts := agentOptions()
	for i := range opts {
		o := &opts[i]
		if f := fs.Lookup(o.flag()); f != nil && f.Changed {
			if err := o.set(c, f.Value.String()); err != nil {
				return nil, fmt.Errorf("--%s: %w", o.flag(), err)
			}
		}
	}
	for i := range opts {
		o := &opts[i]
		if v, ok := lookupEnv(o.env()); ok && v != "" {
			if err := o.set(c, v); err != nil {
				return nil, fmt.Errorf("%s: %w", o.env(), err)
			}
		}
	}
	if err := c.validate(); err != nil {
		return nil, err
	}
	for i, j := range c.Join {
		c.Join[i], _ = joinAddr(j) // validate checked them
	}
	return c, nil
}

// envHelp lists the environment variables for the agent's --help.
func envHelp() string {
	var b strings.Builder
	for _, o := range agentOptions() {
		fmt.Fprintf(&b, "  %-24s --%s\n", o.env(), o.flag())
	}
	return b.String()
}
