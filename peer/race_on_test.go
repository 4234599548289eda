//go:build race

package peer_test

// raceEnabled: the race detector slows the nodes several times over.
const raceEnabled = true
