package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/peer"
	"github.com/lambdakv/lambdakv/peer/wire"
)

// Bounds on a graceful stop after SIGINT or SIGTERM.
const (
	leaveTimeout    = 10 * time.Second
	shutdownTimeout = 15 * time.Second
)

func (a *app) agentCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "agent [--config FILE] [--dev] [flags]",
		Short: "Run a lambdakv node",
		Long: `Run a lambdakv node.

Configuration comes in layers, each overriding the one before (DESIGN §8):
the built-in defaults, the HCL file given with --config (annotated examples
in configs/), the flags given on the command line, and LKV_* environment
variables. Sizes take units (4096, 64KiB, 256MiB, 1GB), durations Go's
syntax (30s, 1m30s).

--dev runs one node on 127.0.0.1 (client port 7370, HTTP 7372 unless set)
with its data in a temporary directory that is removed on exit (unless
--data-dir is given), sync none and text logs at info. Without --dev a data
directory is required: there is no default, so that a node never writes
its data somewhere by surprise.

SIGINT or SIGTERM leaves the cluster and shuts down cleanly (exit status 0);
a second signal exits at once.

Environment variables (one per option):
` + envHelp(),
		Args: exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			ac, err := loadAgentConfig(cmd.Flags(), os.LookupEnv)
			if err != nil {
				return err
			}
			sigs := make(chan os.Signal, 2)
			signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
			defer signal.Stop(sigs)
			return a.serveAgent(cmd.Context(), ac, sigs, os.Exit)
		},
	}
	registerAgentFlags(cmd.Flags())
	cmd.Flags().SortFlags = false
	return cmd
}

// serveAgent runs a node until a signal arrives on sigs, then leaves and
// shuts it down, each step bounded. A signal while the node is starting
// cancels the start. A second signal calls exit(1) at once.
func (a *app) serveAgent(ctx context.Context, ac *agentConfig, sigs <-chan os.Signal, exit func(int)) error {
	logger := ac.newLogger(a.stderr)
	log := logger.Named("agent")
	tempDir := ""
	if ac.DataDir == "" { // --dev without a data directory
		dir, err := os.MkdirTemp("", "lkv-dev-")
		if err != nil {
			return fmt.Errorf("create temporary data directory: %w", err)
		}
		tempDir, ac.DataDir = dir, dir
		defer os.RemoveAll(tempDir)
	}
	// await waits for done unless a signal comes first: then it exits.
	await := func(done <-chan error) error {
		select {
		case err := <-done:
			return err
		case sig := <-sigs:
			log.Warn("second signal, exiting at once", "signal", sig.String())
			if tempDir != "" {
				os.RemoveAll(tempDir)
			}
			exit(1)
			return errors.New("exit returned")
		}
	}
	pc, notes, err := ac.peerConfig(logger)
	if err != nil {
		return err
	}
	p, err := peer.New(pc)
	if err != nil {
		return err
	}
	startCtx, cancelStart := context.WithCancel(ctx)
	defer cancelStart()
	started := make(chan error, 1)
	go func() { started <- p.Start(startCtx) }()
	select {
	case err := <-started:
		if err != nil {
			return fmt.Errorf("start node: %w", err)
		}
		a.printBanner(p, ac, tempDir)
		warnCluster(log, ac, notes)
		select {
		case sig := <-sigs:
			log.Info("signal received, shutting down", "signal", sig.String())
		case <-p.ShutdownCh():
			log.Warn("node stopped by itself")
		}
	case sig := <-sigs:
		log.Info("signal received while starting, stopping", "signal", sig.String())
		cancelStart()
		if err := await(started); err != nil {
			log.Info("start abandoned", "error", err)
		}
	}
	done := make(chan error, 1)
	go func() { done <- stopPeer(p, log) }()
	return await(done)
}

// stopPeer leaves, then shuts down, each within its bound.
func stopPeer(p *peer.Peer, log hclog.Logger) error {
	lctx, cancel := context.WithTimeout(context.Background(), leaveTimeout)
	if err := p.Leave(lctx); err != nil {
		log.Warn("leave failed; shutting down anyway", "error", err)
	}
	cancel()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := p.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

// printBanner prints the node's addresses on stdout. Tests and scripts
// read the "client:" line to learn the port when --port 0 is used.
func (a *app) printBanner(p *peer.Peer, ac *agentConfig, tempDir string) {
	w := a.stdout
	fmt.Fprintf(w, "lkv agent: node %s serving\n", p.ID())
	fmt.Fprintf(w, "  client:   %s", p.Addr())
	if ac.TLSCert != "" {
		fmt.Fprint(w, " (TLS)")
	}
	if ac.Token != "" {
		fmt.Fprint(w, " (token required)")
	}
	fmt.Fprintln(w)
	if h := p.HTTPAddr(); h != "" {
		fmt.Fprintf(w, "  http:     %s\n", h)
	} else {
		fmt.Fprintln(w, "  http:     disabled")
	}
	if g := p.GossipAddr(); g != "" {
		fmt.Fprintf(w, "  gossip:   %s (cluster %s)\n", g, ac.Cluster)
	} else {
		fmt.Fprintln(w, "  gossip:   off")
	}
	if len(ac.Join) > 0 {
		fmt.Fprintf(w, "  join:     %s\n", strings.Join(ac.Join, ","))
	}
	if tempDir != "" {
		fmt.Fprintf(w, "  data dir: %s (temporary, removed on exit)\n", tempDir)
	} else {
		fmt.Fprintf(w, "  data dir: %s\n", ac.DataDir)
	}
	fmt.Fprintf(w, "  sync:     %s\n", ac.syncMode())
	fmt.Fprintf(w, "  version:  %s (protocol %d)\n", version, wire.ProtocolVersion)
}

// warnCluster warns about cluster options this build cannot use yet.
func warnCluster(log hclog.Logger, ac *agentConfig, notes []string) {
	if len(notes) > 0 {
		log.Warn("options accepted but without effect until replication is available",
			"options", strings.Join(notes, "; "))
	}
}
