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
	sb, err := startSandboxProcess(ctx, o.Exe, n)
	if err != nil {
		return Result{}, err
	}
	defer sb.stop()
	readyFile := sb.readyFile
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
	res.SandboxRSSMB = sb.stop()
	res.Note = "peak_rss_mb is the synchronising coupler process alone (getrusage); the sandbox ran in its own process"
	return res, nil
}

// sandboxProcess is `coupler sandbox` running as a child process.
type sandboxProcess struct {
	cmd       *exec.Cmd
	done      chan error
	dir       string
	readyFile string
	ready     sandbox.Ready
	stopped   bool
	rssMB     float64
}

// startSandboxProcess starts `coupler sandbox --scale n` and waits for its
// ready file: the simulators' data and their garbage collection then live
// in a process of their own, as the real services do.
func startSandboxProcess(ctx context.Context, exe string, n int) (*sandboxProcess, error) {
	if exe == "" {
		return nil, errors.New("a sandbox in its own process (the memory scenario, full --sandbox-process) needs the coupler binary (Options.Exe) to start it")
	}
	dir, err := os.MkdirTemp("", "coupler-bench-sandbox-")
	if err != nil {
		return nil, err
	}
	p := &sandboxProcess{dir: dir, readyFile: filepath.Join(dir, "ready.json"), done: make(chan error, 1)}
	p.cmd = exec.CommandContext(ctx, exe, "sandbox", "--seed", "demo", "--scale", fmt.Sprint(n), "--ready-file", p.readyFile)
	if err := p.cmd.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the sandbox process: %w", err)
	}
	go func() { p.done <- p.cmd.Wait() }()
	if err := waitReady(ctx, p.readyFile, p.done, 15*time.Minute); err != nil {
		p.stop()
		return nil, err
	}
	b, err := os.ReadFile(p.readyFile)
	if err == nil {
		err = json.Unmarshal(b, &p.ready)
	}
	if err != nil {
		p.stop()
		return nil, fmt.Errorf("the sandbox's ready file %s: %w", p.readyFile, err)
	}
	return p, nil
}

// stop ends the sandbox (SIGTERM, then SIGKILL after 30 s) and returns its
// peak RSS in MB; it may be called more than once.
func (p *sandboxProcess) stop() float64 {
	if p.stopped {
		return p.rssMB
	}
	p.stopped = true
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(30 * time.Second):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
	p.rssMB = childPeakRSSMB(p.cmd.ProcessState)
	os.RemoveAll(p.dir)
	return p.rssMB
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
