// Package reliability holds coupler's reliability and security suite: tests
// only (every file but this one is a _test.go file). They drive the real
// engine, clients, store and secret box against the sandbox over HTTP on
// 127.0.0.1 and check that nothing is lost, duplicated or leaked when the
// APIs fail, the process is killed, two runs race, inputs are hostile or the
// disk misbehaves.
//
// Run: go test ./internal/reliability/ -run Reliability -v (the last line
// gives the figures: crashes and faults injected, bad inputs tried, records
// checked, lost and duplicated).
//
//   - faults_test.go: full sync under 5xx/429/slow/drop faults on both APIs;
//     an outage of both APIs in the middle of a run.
//   - crash_test.go: SIGKILL during incremental sync, key rotation and WAL
//     commits (the full-sync kill test lives in internal/syncer).
//   - concurrency_test.go: two full syncs at once while records are edited.
//   - badanswers_test.go, fuzz_test.go: hostile answers and inputs.
//   - storage_test.go: damaged database, full disk, read-only data dir.
//   - secrets_test.go, exposure_test.go: no secret in clear anywhere after a
//     demo run; SQL injection strings; sandbox bound to loopback.
//
// The default runs take well under a minute. COUPLER_RELIABILITY_LONG=1
// makes them long: a larger sandbox, more kills, a two-minute outage.
// Fuzzing for hours: scripts/fuzz-nightly.
package reliability
