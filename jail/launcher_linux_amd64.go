//go:build linux && amd64

package jail

import (
	_ "embed"
	"encoding/binary"
)

// launcherBin is the static no-libc launcher built from
// launcher/launcher.c by launcher/build.sh.
//
//go:embed launcher/launcher.bin
var launcherBin []byte

// Launcher configuration wire format; see launcher/launcher.c (struct hdr).
const (
	launcherMagic   = 0x4a564b4c // "LKVJ"
	launcherVersion = 1

	lfSetUID    = 1
	lfNetNS     = 2
	lfLandlock  = 4
	lfPdeathsig = 8
	lfSeccomp   = 16
)

// The fds the launcher inherits (childFiles builds this layout).
const (
	cfgFD     = 3
	workdirFD = 5 // O_PATH of the working directory, for Landlock
	devNullFD = 6 // O_PATH of /dev/null, for Landlock
	netnsFD   = 7 // the empty network namespace, as root
)

// rlimitEnt is one setrlimit(resource, value, value).
type rlimitEnt struct {
	resource int
	value    uint64
}

// ruleEnt is one Landlock path-beneath rule on an inherited fd.
type ruleEnt struct {
	fd     int
	access uint64
}

// launchConfig is the launcher's instructions for one run.
type launchConfig struct {
	flags    uint32
	uid, gid uint32
	rlimits  []rlimitEnt
	landlock landlockPolicy
	rules    []ruleEnt
	filter   []byte // encoded sock_filter array
}

// encode returns the bytes the launcher reads from cfgFD.
func (c *launchConfig) encode() []byte {
	le := binary.LittleEndian
	b := make([]byte, 0, 72+16*(len(c.rlimits)+len(c.rules))+len(c.filter))
	for _, v := range []uint32{
		launcherMagic, launcherVersion, c.flags, c.uid, c.gid, netnsFD, binFD,
		uint32(len(c.rlimits)), uint32(len(c.rules)), uint32(len(c.filter) / 8),
		c.landlock.attrSize, pidMagic,
	} {
		b = le.AppendUint32(b, v)
	}
	b = le.AppendUint64(b, c.landlock.fs)
	b = le.AppendUint64(b, c.landlock.net)
	b = le.AppendUint64(b, c.landlock.scoped)
	for _, r := range c.rlimits {
		b = le.AppendUint32(b, uint32(r.resource))
		b = le.AppendUint32(b, 0)
		b = le.AppendUint64(b, r.value)
	}
	for _, r := range c.rules {
		b = le.AppendUint32(b, uint32(r.fd))
		b = le.AppendUint32(b, 0)
		b = le.AppendUint64(b, r.access)
	}
	return append(b, c.filter...)
}
