package main

import "github.com/spf13/cobra"

func init() {
	register(func(g *globals) *cobra.Command {
		return &cobra.Command{
			Use:   "sync",
			Short: "Run and inspect synchronisation",
			RunE: func(cmd *cobra.Command, args []string) error {
				return notBuilt("coupler sync")
			},
		}
	})
}
