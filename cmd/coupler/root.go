package main

import (
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/gcpace"
	"github.com/coupler/coupler/internal/logging"
)

// globals holds what every command shares once flags are parsed.
type globals struct {
	dataDir     string
	configPath  string
	databaseURL string
	logLevel    string

	cfg config.Config
	log *slog.Logger
}

func newRootCommand() *cobra.Command {
	g := &globals{}
	root := &cobra.Command{
		Use:           "coupler",
		Short:         "Keep Business Central and Dynamics 365 Sales in step",
		SilenceUsage:  true,
		SilenceErrors: true,
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return g.load(cmd)
		},
	}
	pf := root.PersistentFlags()
	pf.StringVar(&g.dataDir, "data-dir", "", "directory for the SQLite database, key file and config (default $XDG_DATA_HOME/coupler or ~/.local/share/coupler)")
	pf.StringVar(&g.configPath, "config", "", "configuration file (default config.toml in the data dir)")
	pf.StringVar(&g.databaseURL, "database-url", "", "postgres://… URL to use PostgreSQL instead of SQLite")
	pf.StringVar(&g.logLevel, "log-level", "", "debug, info, warn or error (default info)")

	for _, add := range commands {
		root.AddCommand(add(g))
	}
	return root
}

// commands is filled by each command's file in its init, so that adding a
// command touches only its own file.
var commands []func(*globals) *cobra.Command

func register(f func(*globals) *cobra.Command) { commands = append(commands, f) }

func (g *globals) load(cmd *cobra.Command) error {
	cfg, err := config.Load(g.configPath, g.dataDir, os.Getenv)
	if err != nil {
		return err
	}
	if g.databaseURL != "" {
		cfg.DatabaseURL = g.databaseURL
	}
	if g.logLevel != "" {
		cfg.LogLevel = g.logLevel
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	log, err := logging.New(cmd.ErrOrStderr(), cfg.LogLevel, cfg.LogFormat)
	if err != nil {
		return fmt.Errorf("logging: %w", err)
	}
	g.cfg, g.log = cfg, log
	pace.Do(func() { gcpace.Start(uint64(cfg.Memory.HeapFloorMB)<<20, log) })
	return nil
}

// pace starts the collector's pacer once per process, with the first
// command's configuration (tests run several commands in one process).
var pace sync.Once

// notBuilt is the answer of a command whose feature has not landed yet.
func notBuilt(what string) error {
	return fmt.Errorf("%s is not built yet in this version of coupler; see the README's status section", what)
}
