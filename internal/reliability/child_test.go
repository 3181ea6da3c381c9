package reliability

import (
	"fmt"
	"os"
)

// runChild is the body of a child process the crash tests kill.
func runChild(mode string) int {
	switch mode {
	default:
		fmt.Fprintf(os.Stderr, "unknown child mode %q\n", mode)
		return 2
	}
}
