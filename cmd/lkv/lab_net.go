package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
)

// The lab's network as root: a bridge NAME-br in the root namespace with
// the subnet's .1, and per node a namespace NAME-<id> joined to it by a
// veth pair (NAME-<id> on the bridge, eth0 inside). tbf on both ends of
// the pair shapes each direction: eth0's egress is what the node sends,
// the bridge side's egress what it receives.

// lookPath is exec.LookPath; a variable so that tests can pretend.
var lookPath = exec.LookPath

// ipCmd runs one ip or tc command and returns its error with its output.
func ipCmd(name string, args ...string) error {
	var out bytes.Buffer
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s %s: %v: %s", name, strings.Join(args, " "), err, strings.TrimSpace(out.String()))
	}
	return nil
}

// setupBridge creates the bridge with the host's address on the subnet.
func setupBridge(st *labState) error {
	if err := ipCmd("ip", "link", "add", st.Bridge, "type", "bridge"); err != nil {
		return err
	}
	if err := ipCmd("ip", "addr", "add", st.Subnet+".1/24", "dev", st.Bridge); err != nil {
		return err
	}
	return ipCmd("ip", "link", "set", st.Bridge, "up")
}

// setupNodeNet creates node n's namespace and veth pair and shapes it to
// rate bytes/s each way (0: not shaped).
func setupNodeNet(st *labState, n *labNode, rate int64) error {
	ns, veth := n.Netns, n.Netns // the host side of the pair carries the namespace's name
	steps := [][]string{
		{"ip", "netns", "add", ns},
		{"ip", "link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns},
		{"ip", "link", "set", veth, "master", st.Bridge, "up"},
		{"ip", "-n", ns, "addr", "add", n.IP + "/24", "dev", "eth0"},
		{"ip", "-n", ns, "link", "set", "eth0", "up"},
		{"ip", "-n", ns, "link", "set", "lo", "up"},
	}
	if rate > 0 {
		tbf := tbfArgs(rate)
		steps = append(steps,
			append([]string{"tc", "qdisc", "add", "dev", veth, "root"}, tbf...),
			append([]string{"ip", "netns", "exec", ns, "tc", "qdisc", "add", "dev", "eth0", "root"}, tbf...))
	}
	for _, s := range steps {
		if err := ipCmd(s[0], s[1:]...); err != nil {
			return err
		}
	}
	return nil
}

// tbfArgs shapes to rate bytes/s. The bucket holds 2 ms of traffic (at
// least 64 KiB, so a GSO packet fits): 1gbit measured 118 MB/s with it.
func tbfArgs(rate int64) []string {
	burst := max(rate/500, 64<<10)
	return []string{"tbf", "rate", strconv.FormatInt(rate*8, 10) + "bit",
		"burst", strconv.FormatInt(burst, 10), "latency", "20ms"}
}

// labNamespaces lists the namespaces whose names start with prefix.
func labNamespaces(prefix string) []string {
	out, err := exec.Command("ip", "netns", "list").Output()
	if err != nil {
		return nil
	}
	var nss []string
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(f[0], prefix) {
			nss = append(nss, f[0])
		}
	}
	return nss
}

// namespacePIDs lists the processes in namespace ns.
func namespacePIDs(ns string) []int {
	out, err := exec.Command("ip", "netns", "pids", ns).Output()
	if err != nil {
		return nil
	}
	var pids []int
	for _, f := range strings.Fields(string(out)) {
		if pid, err := strconv.Atoi(f); err == nil {
			pids = append(pids, pid)
		}
	}
	return pids
}

// linkExists reports whether a network interface of that name exists.
func linkExists(name string) bool {
	return exec.Command("ip", "link", "show", "dev", name).Run() == nil
}

// removeNetwork deletes the namespaces (which takes their veth pairs
// with them) and the bridge. Missing pieces are not errors.
func removeNetwork(nss []string, bridge string) []error {
	var errs []error
	for _, ns := range nss {
		if err := ipCmd("ip", "netns", "del", ns); err != nil && !strings.Contains(err.Error(), "No such file") {
			errs = append(errs, err)
		}
		// A veth left by an up that crashed before moving its peer. (The
		// kernel removes a deleted namespace's pairs in the background, so
		// one may vanish meanwhile.)
		if linkExists(ns) {
			if err := ipCmd("ip", "link", "del", ns); err != nil && linkExists(ns) {
				errs = append(errs, err)
			}
		}
	}
	if bridge != "" && linkExists(bridge) {
		if err := ipCmd("ip", "link", "del", bridge); err != nil {
			errs = append(errs, err)
		}
	}
	return errs
}
