package reliability

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// TestMain lets the test binary act as the coupler process the crash tests
// kill (COUPLER_RELIABILITY_CHILD names what it does), and prints the
// suite's figures at the end.
func TestMain(m *testing.M) {
	if mode := os.Getenv("COUPLER_RELIABILITY_CHILD"); mode != "" {
		os.Exit(runChild(mode))
	}
	code := m.Run()
	if binPath != "" {
		_ = os.RemoveAll(filepath.Dir(binPath))
	}
	tally.Lock()
	fmt.Printf("reliability figures: crashes injected %d, faults injected %d, bad inputs tried %d, records checked %d, records lost %d, records duplicated %d\n",
		tally.crashes, tally.faults, tally.badInputs, tally.records, tally.lost, tally.duplicated)
	tally.Unlock()
	os.Exit(code)
}
