package main

import (
	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/daemon"
)

func init() {
	register(func(g *globals) *cobra.Command {
		var addr string
		cmd := &cobra.Command{
			Use:   "serve",
			Short: "Serve the web UI, REST API and scheduled synchronisation",
			Args:  cobra.NoArgs,
			RunE: func(cmd *cobra.Command, args []string) error {
				cfg := g.cfg
				if addr != "" {
					cfg.HTTP.Addr = addr
				}
				d := daemon.New(cfg, g.log)
				if err := d.Open(cmd.Context()); err != nil {
					return err
				}
				return d.Run(cmd.Context())
			},
		}
		cmd.Flags().StringVar(&addr, "addr", "", "host:port to listen on (overrides http.addr)")
		return cmd
	})
}
