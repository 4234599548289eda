package main

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/lambdakv/lambdakv/client"
	"github.com/lambdakv/lambdakv/peer/wire"
	"github.com/lambdakv/lambdakv/slots"
)

// nodeJSON is one element of lkv cluster nodes --json (DESIGN §9).
type nodeJSON struct {
	ID          string `json:"id"`
	Addr        string `json:"addr"`
	GossipAddr  string `json:"gossip_addr"`
	HTTPAddr    string `json:"http_addr"`
	Role        string `json:"role"`
	State       string `json:"state"`
	Master      string `json:"master"` // for a replica: the master it follows
	Slots       int    `json:"slots"`  // how many slots it masters
	Coordinator bool   `json:"coordinator"`
	Version     string `json:"version"`
	Offset      uint64 `json:"offset"`
	Executors   int    `json:"executors"`
	// For a replica, as it reports itself: offsets behind its master,
	// milliseconds since it last had every write (-1: never yet), and its
	// link to the master (connecting, snapshot, streaming).
	Lag       uint64 `json:"lag"`
	LagMillis int64  `json:"lag_ms"`
	Link      string `json:"link,omitempty"`
}

// slotJSON is one element of lkv cluster slots --json (DESIGN §9).
type slotJSON struct {
	Start    int      `json:"start"`
	End      int      `json:"end"`
	Master   string   `json:"master"`
	Replicas []string `json:"replicas"`
	Epoch    uint64   `json:"epoch"`
}

// infoJSON is lkv cluster info --json (DESIGN §9).
type infoJSON struct {
	NodeID       string `json:"node_id"` // the node the CLI talked to
	Addr         string `json:"addr"`
	Cluster      string `json:"cluster"`
	Epoch        uint64 `json:"epoch"`
	Coordinator  string `json:"coordinator"`   // id of the coordinator
	SlotsCovered int    `json:"slots_covered"` // slots that have a master
	Slots        int    `json:"slots"`         // slots in all
	Migrations   int    `json:"migrations"`    // slots the coordinator's moves still have to move
	Nodes        int    `json:"nodes"`
	Masters      int    `json:"masters"`
	Version      string `json:"version"`
}

func (a *app) clusterCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster nodes|slots|info [--json]",
		Short: "Show the cluster's nodes, slot table or a summary",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return &usageError{err: fmt.Errorf("unknown subcommand %q for %q (want nodes, slots or info)", args[0], cmd.CommandPath()), cmd: cmd}
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(
		a.topologyCommand("nodes", "List the nodes: id, addresses, role, state, slots", a.printNodes),
		a.topologyCommand("slots", "Show the slot table: ranges, master, replicas, epoch", a.printSlots),
		a.topologyCommand("info", "Summarize the cluster: epoch, coordinator, slot coverage", a.printInfo),
	)
	return cmd
}

// topologyCommand is a cluster subcommand that prints the topology.
func (a *app) topologyCommand(name, short string, print func(c *client.Client, seeds []string, asJSON bool) error) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   name + " [--json]",
		Short: short,
		Args:  exactArgs(0, "no arguments"),
		RunE: func(cmd *cobra.Command, args []string) error {
			_, c, done, err := a.dial(cmd, a.global.timeout)
			if err != nil {
				return err
			}
			defer done()
			cfg, _ := a.global.clientConfig()
			return print(c, cfg.Seeds, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func (a *app) printNodes(c *client.Client, _ []string, asJSON bool) error {
	top := c.Topology()
	out := make([]nodeJSON, len(top.Nodes))
	var wg sync.WaitGroup
	for i, n := range top.Nodes {
		out[i] = nodeJSON{
			ID: n.ID, Addr: n.Addr, GossipAddr: n.GossipAddr, HTTPAddr: n.HTTPAddr,
			Role: n.Role, State: n.State, Master: n.Master, Slots: n.Slots,
			Coordinator: n.Coordinator, Version: n.Version, Offset: n.Offset, Executors: n.Executors,
			Lag: n.Lag, LagMillis: n.LagMillis, Link: n.Link,
		}
		if n.State == "alive" && n.Addr != "" {
			// Each node knows its own offset and, as a replica, its link.
			wg.Go(func() { selfReport(c, n.ID, n.Addr, &out[i]) })
		}
	}
	wg.Wait()
	// A master knows best how far behind its replicas are: it sees the
	// writes taken since their last request.
	byID := make(map[string]int, len(out))
	for i, n := range out {
		byID[n.ID] = i
	}
	var mu sync.Mutex
	for _, n := range out {
		if n.Role != "replica" || n.Master == "" {
			continue
		}
		m, ok := byID[n.Master]
		if !ok || out[m].State != "alive" {
			continue
		}
		wg.Go(func() {
			lag, ms, ok := lagFromMaster(c, out[m].Addr, n.ID)
			if ok {
				mu.Lock()
				out[byID[n.ID]].Lag, out[byID[n.ID]].LagMillis = lag, ms
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if asJSON {
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tADDR\tGOSSIP\tHTTP\tROLE\tSTATE\tMASTER\tSLOTS\tCOORDINATOR\tOFFSET\tLAG")
	for _, n := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\t%d\t%s\n", n.ID, n.Addr, dash(n.GossipAddr), dash(n.HTTPAddr),
			n.Role, n.State, dash(n.Master), n.Slots, yesNo(n.Coordinator), n.Offset, lagText(n))
	}
	return tw.Flush()
}

// selfReport fills n with what the node at addr says of itself.
func selfReport(c *client.Client, id, addr string, n *nodeJSON) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.Do(ctx, &wire.Request{Op: wire.OpTopology}, addr)
	if err != nil || resp.Topology == nil {
		return
	}
	for _, s := range resp.Topology.Nodes {
		if s.ID == id {
			n.Role, n.Offset = s.Role, s.Offset
			if s.Role == "replica" {
				n.Master, n.Lag, n.LagMillis, n.Link = s.Master, s.Lag, s.LagMillis, s.Link
			}
		}
	}
}

// lagFromMaster asks the master at addr how far behind replica is.
func lagFromMaster(c *client.Client, addr, replica string) (lag uint64, ms int64, ok bool) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	resp, err := c.Do(ctx, &wire.Request{Op: wire.OpTopology}, addr)
	if err != nil || resp.Topology == nil {
		return 0, 0, false
	}
	for _, n := range resp.Topology.Nodes {
		if n.ID == replica {
			return n.Lag, n.LagMillis, true
		}
	}
	return 0, 0, false
}

// lagText describes a replica's lag for the table.
func lagText(n nodeJSON) string {
	if n.Role != "replica" || n.Link == "" {
		return "-"
	}
	switch {
	case n.Link != "streaming":
		return n.Link
	case n.LagMillis < 0:
		return fmt.Sprintf("%d (never caught up)", n.Lag)
	}
	return fmt.Sprintf("%d (%.1fs)", n.Lag, float64(n.LagMillis)/1000)
}

func (a *app) printSlots(c *client.Client, _ []string, asJSON bool) error {
	top := c.Topology()
	out := make([]slotJSON, len(top.Slots))
	for i, r := range top.Slots {
		out[i] = slotJSON{Start: r.Start, End: r.End, Master: r.Master, Replicas: r.Replicas, Epoch: r.Epoch}
		if out[i].Replicas == nil {
			out[i].Replicas = []string{}
		}
	}
	if asJSON {
		return writeJSON(a.stdout, out)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "START\tEND\tMASTER\tREPLICAS\tEPOCH")
	for _, r := range out {
		fmt.Fprintf(tw, "%d\t%d\t%s\t%s\t%d\n", r.Start, r.End, dash(r.Master), dash(strings.Join(r.Replicas, ",")), r.Epoch)
	}
	return tw.Flush()
}

func (a *app) printInfo(c *client.Client, seeds []string, asJSON bool) error {
	info := clusterInfo(c.Topology(), seeds)
	info.Migrations = coordinatorMigrations(c, info.Coordinator)
	if asJSON {
		return writeJSON(a.stdout, info)
	}
	tw := tabwriter.NewWriter(a.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "node:\t%s (%s)\n", dash(info.NodeID), dash(info.Addr))
	fmt.Fprintf(tw, "cluster:\t%s\n", dash(info.Cluster))
	fmt.Fprintf(tw, "epoch:\t%d\n", info.Epoch)
	fmt.Fprintf(tw, "coordinator:\t%s\n", dash(info.Coordinator))
	fmt.Fprintf(tw, "slots covered:\t%d/%d\n", info.SlotsCovered, info.Slots)
	if info.Migrations > 0 {
		fmt.Fprintf(tw, "migrations:\t%d slots still to move\n", info.Migrations)
	} else {
		fmt.Fprintf(tw, "migrations:\tnone\n")
	}
	fmt.Fprintf(tw, "nodes:\t%d (%d masters)\n", info.Nodes, info.Masters)
	fmt.Fprintf(tw, "version:\t%s\n", dash(info.Version))
	return tw.Flush()
}

// coordinatorMigrations asks the coordinator how many slots its moves
// still have to move; 0 when there is none or it cannot be asked.
func coordinatorMigrations(c *client.Client, coordinator string) int {
	top := c.Topology()
	for _, n := range top.Nodes {
		if n.ID != coordinator || n.Addr == "" {
			continue
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		resp, err := c.Do(ctx, &wire.Request{Op: wire.OpTopology}, n.Addr)
		if err != nil || resp.Topology == nil {
			return 0
		}
		return resp.Topology.MigratingSlots
	}
	return 0
}

// clusterInfo summarizes a topology. The node is the one whose address is
// the first seed that appears in it, else the first node listed (the one
// that answered puts itself first).
func clusterInfo(top *wire.Topology, seeds []string) infoJSON {
	info := infoJSON{Cluster: top.Cluster, Epoch: top.Epoch, Migrations: top.MigratingSlots, Slots: slots.NumSlots, Nodes: len(top.Nodes)}
	self := -1
	for _, s := range seeds {
		for i, n := range top.Nodes {
			if self < 0 && n.Addr == s {
				self = i
			}
		}
	}
	if self < 0 && len(top.Nodes) > 0 {
		self = 0
	}
	if self >= 0 {
		n := top.Nodes[self]
		info.NodeID, info.Addr, info.Version = n.ID, n.Addr, n.Version
	}
	alive := make(map[string]bool, len(top.Nodes))
	for _, n := range top.Nodes {
		if n.Coordinator {
			info.Coordinator = n.ID
		}
		if n.Role == "master" {
			info.Masters++
		}
		alive[n.ID] = n.State == "" || n.State == "alive"
	}
	for _, r := range top.Slots {
		if r.Master != "" && alive[r.Master] {
			info.SlotsCovered += min(r.End, slots.NumSlots-1) - max(r.Start, 0) + 1
		}
	}
	return info
}
