// Package reliability holds coupler's reliability and security suite: tests
// only (every file but this one is a _test.go file). They drive the real
// engine, clients, store and secret box against the sandbox over HTTP on
// 127.0.0.1 and check that nothing is lost, duplicated or leaked when the
// APIs fail, the process is killed, two runs race, inputs are hostile or the
// disk misbehaves.
//
// Run: go test ./internal/reliability/ -run Reliability -v
//
// The default runs take well under a minute. COUPLER_RELIABILITY_LONG=1
// makes them long: a larger sandbox, more kills, a two-minute outage.
// Fuzzing for hours: scripts/fuzz-nightly.
package reliability
