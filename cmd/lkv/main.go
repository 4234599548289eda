// Command lkv is both a lambdakv node (lkv agent) and its command-line
// client (put, get, del, stat, exec, cluster, bench, version).
//
// Run "lkv --help" or "lkv COMMAND --help" for the flags; DESIGN §8 and §9
// describe the contract, configs/ holds annotated agent configurations.
package main

import (
	"context"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

// version is the software version, set at build time with
// -ldflags "-X main.version=v1.2.3".
var version = "dev"

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}

// run executes one command line and returns the process exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	app := &app{stdin: stdin, stdout: stdout, stderr: stderr}
	root := app.rootCommand()
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	return app.exitStatus(root, err)
}

// app holds what every command shares: its streams and the global flags.
// It is used by one command run, from one goroutine.
type app struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer

	global globalFlags

	// code, if not nil, is the exit status a command asked for without an
	// error (lkv exec exits with the lambda's return code).
	code *int
}

func (a *app) rootCommand() *cobra.Command {
	root := &cobra.Command{
		Use:   "lkv",
		Short: "lambdakv: a distributed key-value store that runs sandboxed lambdas next to the data",
		Long: `lkv is both a lambdakv node ("lkv agent") and its command-line client.

Start a node for trying things out:   lkv agent --dev
Store and read a value:               lkv put greeting ./hello.txt && lkv get greeting
Upload and run a lambda:              lkv put echo ./echo --perm rx && lkv exec echo --arg hi`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
		// Without subcommand arguments, print the help (exit 0); an unknown
		// subcommand is a usage error.
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return usageErrorf("unknown command %q for %q", args[0], cmd.CommandPath())
			}
			return nil
		},
		Run: func(cmd *cobra.Command, args []string) { _ = cmd.Help() },
	}
	root.SetIn(a.stdin)
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetVersionTemplate("{{.Version}}\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{err: err, cmd: cmd}
	})
	root.CompletionOptions.DisableDefaultCmd = true
	a.global.register(root)
	root.AddCommand(
		a.agentCommand(),
		a.putCommand(),
		a.getCommand(),
		a.delCommand(),
		a.statCommand(),
		a.execCommand(),
		a.graphCommand(),
		a.gobuildCommand(),
		a.clusterCommand(),
		a.benchCommand(),
		a.labCommand(),
		a.versionCommand(),
	)
	return root
}
