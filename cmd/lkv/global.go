package main

import (
	"context"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/lambdakv/lambdakv/client"
)

// Client defaults.
const (
	defaultAddr    = "127.0.0.1:7370"
	defaultTimeout = 30 * time.Second
)

// globalFlags are the client flags every subcommand accepts. A flag given
// on the command line wins over its environment variable, which wins over
// the default. (The agent's own --token shadows the global one.)
type globalFlags struct {
	fs      *pflag.FlagSet
	addr    string
	token   string
	timeout time.Duration
	tls     bool
	ca      string
	// replicaOK lets a replica answer (lkv get --replica-ok).
	replicaOK bool

	lookupEnv func(string) (string, bool) // os.LookupEnv; tests replace it
}

func (g *globalFlags) register(root *cobra.Command) {
	fs := root.PersistentFlags()
	fs.StringVar(&g.addr, "addr", defaultAddr, "client address `HOST:PORT` of any node; several separated by commas (env LKV_ADDR)")
	fs.StringVar(&g.token, "token", "", "token for nodes that require one (env LKV_TOKEN)")
	fs.DurationVar(&g.timeout, "timeout", defaultTimeout, "give up after this long, 0 for never (lkv exec: the lambda's time limit instead)")
	fs.BoolVar(&g.tls, "tls", false, "connect with TLS and verify the node against the system roots or --ca (env LKV_TLS)")
	fs.StringVar(&g.ca, "ca", "", "PEM `FILE` of CA certificates to verify nodes with; implies --tls (env LKV_CA)")
	g.fs = fs
	if g.lookupEnv == nil {
		g.lookupEnv = os.LookupEnv
	}
}

// value returns the flag's value if it was given, else the variable's if
// set and not empty, else the flag's default.
func (g *globalFlags) value(flag, env string) string {
	f := g.fs.Lookup(flag)
	if f.Changed {
		return f.Value.String()
	}
	if v, ok := g.lookupEnv(env); ok && v != "" {
		return v
	}
	return f.Value.String()
}

// clientConfig builds the client configuration from the global flags.
func (g *globalFlags) clientConfig() (client.Config, error) {
	cfg := client.Config{Name: "lkv-cli", Token: g.value("token", "LKV_TOKEN"), ReadFromReplicas: g.replicaOK}
	for _, s := range strings.Split(g.value("addr", "LKV_ADDR"), ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.Seeds = append(cfg.Seeds, s)
		}
	}
	if len(cfg.Seeds) == 0 {
		return cfg, usageErrorf("--addr: no address given")
	}
	useTLS, _ := strconv.ParseBool(g.value("tls", "LKV_TLS"))
	ca := g.value("ca", "LKV_CA")
	if useTLS || ca != "" {
		t, err := client.TLSConfig(ca)
		if err != nil {
			return cfg, err
		}
		cfg.TLS = t
	}
	return cfg, nil
}

// dial connects to the cluster. The returned context ends after timeout
// (never if zero) or at SIGINT; the returned func closes the client and
// releases the context.
func (a *app) dial(cmd *cobra.Command, timeout time.Duration) (context.Context, *client.Client, func(), error) {
	cfg, err := a.global.clientConfig()
	if err != nil {
		return nil, nil, nil, err
	}
	ctx, cancel := cmd.Context(), context.CancelFunc(func() {})
	if timeout > 0 {
		ctx, cancel = context.WithTimeout(ctx, timeout)
	}
	c, err := client.Dial(ctx, cfg)
	if err != nil {
		cancel()
		return nil, nil, nil, err
	}
	return ctx, c, func() { c.Close(); cancel() }, nil
}
