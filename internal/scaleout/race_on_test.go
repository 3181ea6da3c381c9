//go:build race

package scaleout_test

// raceEnabled: the race detector slows the clients about six times, too
// much to drive the sandbox to its limits.
const raceEnabled = true
