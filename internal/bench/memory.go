package bench

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/coupler/coupler/internal/sandbox"
)

const defaultMemoryRecords = 1_000_000

// runMemory starts `coupler sandbox` as one child process and a
// synchronising coupler (`coupler bench --worker-ready`) as another, and
// reads the latter's peak RSS from getrusage when it exits: the figure is
// coupler alone, without the simulators' data.
func runMemory(ctx context.Context, o Options) (Result, error) {
	n := o.Records
	if n == 0 {
		n = defaultMemoryRecords
	}
	if o.Exe == "" {
		return Result{}, errors.New("the memory scenario needs the coupler binary (Options.Exe) to start its child processes")
	}
	dir, err := os.MkdirTemp("", "coupler-bench-memory-")
	if err != nil {
		return Result{}, err
	}
	defer os.RemoveAll(dir)
	readyFile := filepath.Join(dir, "ready.json")
	sbCmd := exec.CommandContext(ctx, o.Exe, "sandbox", "--seed", "demo", "--scale", fmt.Sprint(n), "--ready-file", readyFile)
	sbCmd.Stdout, sbCmd.Stderr = nil, nil
	if err := sbCmd.Start(); err != nil {
		return Result{}, fmt.Errorf("starting the sandbox process: %w", err)
	}
	sbDone := make(chan error, 1)
	go func() { sbDone <- sbCmd.Wait() }()
	defer func() {
		if sbCmd.ProcessState == nil {
			_ = sbCmd.Process.Kill()
			<-sbDone
		}
	}()
	if err := waitReady(ctx, readyFile, sbDone, 15*time.Minute); err != nil {
		return Result{}, err
	}
	var out, errb bytes.Buffer
	args := []string{"bench", "--worker-ready", readyFile, "--log-level", "error"}
	if o.HeapProfile != "" {
		args = append(args, "--heapprofile", o.HeapProfile)
	}
	w := exec.CommandContext(ctx, o.Exe, args...)
	w.Stdout, w.Stderr = &out, &errb
	if err := w.Run(); err != nil {
		return Result{}, fmt.Errorf("synchronising process: %w: %s", err, bytes.TrimSpace(errb.Bytes()))
	}
	var res Result
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		return Result{}, fmt.Errorf("synchronising process printed %q, not its result: %w", out.String(), err)
	}
	res.Scenario = "memory"
	res.PeakRSSMB = childPeakRSSMB(w.ProcessState)
	_ = sbCmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-sbDone:
	case <-time.After(30 * time.Second):
		_ = sbCmd.Process.Kill()
		<-sbDone
	}
	res.SandboxRSSMB = childPeakRSSMB(sbCmd.ProcessState)
	res.Note = "peak_rss_mb is the synchronising coupler process alone (getrusage); the sandbox ran in its own process"
	return res, nil
}

// waitReady waits, bounded, for `coupler sandbox` to write its ready file.
func waitReady(ctx context.Context, path string, done <-chan error, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 && json.Valid(b) {
			return nil
		}
		select {
		case err := <-done:
			return fmt.Errorf("the sandbox process exited before it was ready: %v", err)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return fmt.Errorf("the sandbox process was not ready after %s", limit)
}

// Worker is the synchronising side of the memory scenario: coupler's full
// synchronisation of the customers against the sandbox whose ready file is
// given, printing its Result as JSON.
func Worker(ctx context.Context, readyFile string, o Options) error {
	b, err := os.ReadFile(readyFile)
	if err != nil {
		return fmt.Errorf("bench worker: %w", err)
	}
	var r sandbox.Ready
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("bench worker: ready file %s: %w", readyFile, err)
	}
	if o.HeapProfile != "" {
		stop, err := watchHeap(o.HeapProfile)
		if err != nil {
			return err
		}
		defer func() {
			if err := stop(); err != nil {
				o.Logger.Error("heap profile", "err", err)
			}
		}()
	}
	e, err := connect(ctx, r, o.Logger, clientPace{})
	if err != nil {
		return err
	}
	defer e.close()
	res, err := coupleFull(ctx, e)
	if err != nil {
		return err
	}
	return json.NewEncoder(o.Out).Encode(res)
}
