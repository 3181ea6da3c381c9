package main

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/demo"
	"github.com/coupler/coupler/internal/logging"
)

func init() {
	register(func(g *globals) *cobra.Command {
		var o demo.Options
		cmd := &cobra.Command{
			Use:   "demo [--once] [--json] [--addr H:P] [--ready-file F]",
			Short: "Run the whole integration offline against the sandbox, then serve the web UI",
			Long: "Starts the sandbox (simulators of Dynamics 365 Sales and Business Central with demo data), runs the\n" +
				"assisted setup against it, accepts the default synchronisation setup, runs the full synchronisation,\n" +
				"prints a summary per mapping and serves the web UI until Ctrl-C. Without --data-dir it uses its own\n" +
				"data dir (" + demoDataDir() + "), never the one of a real setup.",
			Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				o.Config = g.cfg
				if !cmd.Flags().Changed("data-dir") && os.Getenv("COUPLER_DATA_DIR") == "" {
					o.Config.DataDir = demoDataDir()
				}
				if err := os.MkdirAll(o.Config.DataDir, 0o700); err != nil {
					return err
				}
				o.Logger = g.log
				// The demo narrates its own steps; info logs would drown them.
				if !cmd.Flags().Changed("log-level") && os.Getenv("COUPLER_LOG_LEVEL") == "" && g.cfg.LogLevel == "info" {
					l, err := logging.New(cmd.ErrOrStderr(), "warn", g.cfg.LogFormat)
					if err != nil {
						return err
					}
					o.Logger = l
				}
				o.Out, o.Steps = cmd.OutOrStdout(), cmd.OutOrStdout()
				if o.JSON {
					o.Steps = cmd.ErrOrStderr()
				}
				if f, ok := o.Steps.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
					o.Progress = true
				}
				_, err := demo.Run(cmd.Context(), o)
				return err
			},
		}
		f := cmd.Flags()
		f.BoolVar(&o.Once, "once", false, "exit after the first full synchronisation and its summary")
		f.BoolVar(&o.JSON, "json", false, "print the summary as JSON on stdout (the steps go to stderr)")
		f.StringVar(&o.Addr, "addr", "", "host:port of the web UI (default http.addr, or a free port when it is taken)")
		f.StringVar(&o.ReadyFile, "ready-file", "", "write the sandbox's ready JSON object (URLs and credentials of both simulators) to this file")
		return cmd
	})
}

// demoDataDir keeps the demo apart from a real setup's data dir.
func demoDataDir() string {
	return filepath.Join(filepath.Dir(config.DefaultDataDir()), "coupler-demo")
}
