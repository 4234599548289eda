package main

import (
	"fmt"
	"runtime"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/peer/wire"
)

// versionJSON is lkv version --json.
type versionJSON struct {
	Version  string `json:"version"`
	Protocol int    `json:"protocol"`
	Go       string `json:"go"`
	Platform string `json:"platform"`
}

func currentVersion() versionJSON {
	return versionJSON{
		Version:  version,
		Protocol: wire.ProtocolVersion,
		Go:       runtime.Version(),
		Platform: runtime.GOOS + "/" + runtime.GOARCH,
	}
}

// versionString is the one-line version lkv --version prints.
func versionString() string {
	v := currentVersion()
	return fmt.Sprintf("lkv %s (protocol %d, %s %s)", v.Version, v.Protocol, v.Go, v.Platform)
}

func (a *app) versionCommand() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version [--json]",
		Short: "Print the version of lkv, its protocol and Go",
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			v := currentVersion()
			if asJSON {
				return writeJSON(a.stdout, v)
			}
			fmt.Fprintf(a.stdout, "lkv %s\nprotocol %d\n%s %s\n", v.Version, v.Protocol, v.Go, v.Platform)
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}
