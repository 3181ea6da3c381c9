package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/sandbox"
)

type sandboxFlags struct {
	crmAddr, erpAddr string
	seed             string
	scale            int
	readyFile        string
	limits           []string
	faults           string
	timeScale        float64
	allowRemote      bool
}

func init() {
	register(func(g *globals) *cobra.Command {
		var f sandboxFlags
		cmd := &cobra.Command{
			Use:   "sandbox",
			Short: "Serve local simulators of Dynamics 365 Sales and Business Central",
			Long: `Serve the Dataverse Web API simulator (with the OAuth token endpoint) and the
Business Central API v2.0 simulator until interrupted, on loopback by default.

When ready, the first line of standard output is one JSON object with the URLs and
credentials (crm_url, erp_url, token_url, crm_client_id, …); --ready-file writes the
same object to a file (mode 0600: it holds secrets), removed again on exit.`,
			Example: `  coupler sandbox --ready-file /tmp/sandbox.json
  coupler sandbox --crm-addr 127.0.0.1:5555 --erp-addr 127.0.0.1:7048 --seed none --scale 100000
  coupler sandbox --limits dataverse,bc --time-scale 60 --faults 5xx=0.05,429=0.05,seed=7`,
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error { return runSandbox(cmd, g, f) },
		}
		fl := cmd.Flags()
		fl.StringVar(&f.crmAddr, "crm-addr", sandbox.DefaultAddr, "host:port of the CRM (Dataverse + token endpoint) simulator; port 0 picks a free one")
		fl.StringVar(&f.erpAddr, "erp-addr", sandbox.DefaultAddr, "host:port of the ERP (Business Central) simulator; port 0 picks a free one")
		fl.StringVar(&f.seed, "seed", "demo", "initial data: demo (Contoso / CRONUS) or none")
		fl.IntVar(&f.scale, "scale", 0, "synthetic records to generate on each side, in addition to the seed")
		fl.StringVar(&f.readyFile, "ready-file", "", "also write the ready JSON object to this file")
		fl.StringSliceVar(&f.limits, "limits", []string{"off"}, "request limits to enforce: dataverse, bc, both (dataverse,bc) or off")
		fl.StringVar(&f.faults, "faults", "", `faults to inject, e.g. "5xx=0.1,429=0.2,slow=0.05,slow-delay=2s,drop=0.01,seed=42"`)
		fl.Float64Var(&f.timeScale, "time-scale", 1, "compress the limits' time windows (60 = a 5-minute window lasts 5 seconds)")
		fl.BoolVar(&f.allowRemote, "allow-remote", false, "allow listening on non-loopback addresses (the simulators accept well-known demo credentials)")
		return cmd
	})
}

// parseLimitsFlag turns the --limits values into sandbox limit names.
func parseLimitsFlag(vals []string) ([]string, error) {
	var out []string
	off := false
	for _, v := range vals {
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "off", "none", "":
			off = true
		case "dataverse", "crm":
			out = append(out, sandbox.LimitsDataverse)
		case "bc", "erp":
			out = append(out, sandbox.LimitsBC)
		case "both", "all":
			out = append(out, sandbox.LimitsDataverse, sandbox.LimitsBC)
		default:
			return nil, fmt.Errorf("--limits %q: use dataverse, bc, both or off", v)
		}
	}
	if off && len(out) > 0 {
		return nil, fmt.Errorf("--limits %s: off cannot be combined with dataverse or bc", strings.Join(vals, ","))
	}
	return out, nil
}

func runSandbox(cmd *cobra.Command, g *globals, f sandboxFlags) error {
	lim, err := parseLimitsFlag(f.limits)
	if err != nil {
		return err
	}
	if f.readyFile != "" {
		// A stale file from an earlier run must not look like this run's.
		if err := os.Remove(f.readyFile); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("--ready-file %s: removing the previous file: %w", f.readyFile, err)
		}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	// The sandbox is stopped here, after the signal is logged, not by the
	// (signal-cancelled) command context.
	sb, err := sandbox.Start(context.WithoutCancel(cmd.Context()), sandbox.Options{
		CRMAddr: f.crmAddr, ERPAddr: f.erpAddr, Seed: f.seed, Scale: f.scale,
		Limits: lim, Faults: f.faults, TimeScale: f.timeScale, AllowRemote: f.allowRemote, Logger: g.log,
	})
	if err != nil {
		return err
	}
	defer sb.Close()

	line, err := json.Marshal(sb.Ready())
	if err != nil {
		return fmt.Errorf("sandbox: encoding the ready object: %w", err)
	}
	if f.readyFile != "" {
		if err := writeReadyFile(f.readyFile, sb.Ready()); err != nil {
			return err
		}
		defer os.Remove(f.readyFile)
	}
	if _, err := fmt.Fprintf(cmd.OutOrStdout(), "%s\n", line); err != nil {
		return fmt.Errorf("sandbox: writing the ready object: %w", err)
	}
	g.log.Info("sandbox serving until interrupted (Ctrl-C or SIGTERM)")

	select {
	case <-ctx.Done():
		g.log.Info("sandbox stopping: signal received")
	case <-sb.Done():
	}
	return sb.Close()
}

// writeReadyFile writes the sandbox's ready object as one JSON line, mode
// 0600 (it holds secrets), through a temporary file and a rename so that a
// reader waiting for the file never sees half of it. `coupler demo
// --ready-file` writes the same object.
func writeReadyFile(path string, r sandbox.Ready) error {
	data, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("--ready-file %s: encoding: %w", path, err)
	}
	if err := writeReadyFileAtomic(path, append(data, '\n')); err != nil {
		return fmt.Errorf("--ready-file %s: %w", path, err)
	}
	return nil
}

func writeReadyFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
