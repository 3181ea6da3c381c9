// Command coupler keeps Business Central and Dynamics 365 Sales in step.
// This package only wires the commands to the internal packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand().ExecuteContext(ctx)
	stop()
	if err != nil {
		var ec exitCoder
		if !errors.As(err, &ec) || ec.ExitCode() != 0 {
			fmt.Fprintln(os.Stderr, "coupler:", err)
		}
		code := 1
		if errors.As(err, &ec) {
			code = ec.ExitCode()
		}
		os.Exit(code)
	}
}

// exitCoder lets a command choose its exit status.
type exitCoder interface{ ExitCode() int }
