package main

import (
	"fmt"
	"os"
	"runtime/pprof"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/bench"
)

func init() {
	register(func(g *globals) *cobra.Command {
		var (
			o       bench.Options
			worker  string
			profile string
		)
		cmd := &cobra.Command{
			Use:   "bench [--scenario full|incremental|limits|memory|orders|all] [--records N] [--json]",
			Short: "Measure throughput against the sandbox",
			Long: "Starts the sandbox with --records synthetic records and measures coupler against it: full\n" +
				"synchronisation next to a bare-client floor, incremental cost by table size, use of the request\n" +
				"budget under the services' limits, peak memory on a million records (sandbox in its own process)\n" +
				"and orders. With --json it prints one JSON object per scenario on stdout, the table on stderr.",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				o.Logger = g.log
				o.Out = cmd.OutOrStdout()
				if o.JSON {
					o.Table = cmd.ErrOrStderr()
				}
				if exe, err := os.Executable(); err == nil {
					o.Exe = exe
				}
				if profile != "" {
					f, err := os.Create(profile)
					if err != nil {
						return fmt.Errorf("--cpuprofile: %w", err)
					}
					defer f.Close()
					if err := pprof.StartCPUProfile(f); err != nil {
						return fmt.Errorf("--cpuprofile: %w", err)
					}
					defer pprof.StopCPUProfile()
				}
				if worker != "" {
					return bench.Worker(cmd.Context(), worker, o)
				}
				_, err := bench.Run(cmd.Context(), o)
				return err
			},
		}
		f := cmd.Flags()
		f.StringVar(&o.Scenario, "scenario", "full", "full, incremental, limits, memory, orders or all")
		f.IntVar(&o.Records, "records", 0, "N, the synthetic records (default per scenario: full 100000, limits 50000, memory 1000000; incremental: cap of 10000/100000/1000000)")
		f.IntVar(&o.Changes, "changes", 1000, "K, records changed on each side in the incremental scenario")
		f.BoolVar(&o.JSON, "json", false, "print one JSON object per scenario on stdout (the table goes to stderr)")
		f.StringVar(&profile, "cpuprofile", "", "write a CPU profile of this process (sandbox included for in-process scenarios) to this file, for go tool pprof")
		f.StringVar(&o.HeapProfile, "heapprofile", "", "write a heap profile of the synchronising process (the worker for the memory scenario) taken at its highest live heap, for go tool pprof")
		f.BoolVar(&o.SandboxProcess, "sandbox-process", false, "full scenario: run the sandbox as a child process instead of inside this one (its heap then stays out of this process's garbage collection, as remote services' do)")
		f.StringVar(&worker, "worker-ready", "", "internal: run the synchronising process of the memory scenario against this ready file")
		_ = f.MarkHidden("worker-ready")
		return cmd
	})
}
