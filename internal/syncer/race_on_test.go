//go:build race

package syncer_test

// raceEnabled: the race detector slows everything about tenfold, so the
// heavy sandbox tests use smaller data.
const raceEnabled = true
