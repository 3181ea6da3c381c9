package main

import "github.com/spf13/cobra"

func init() {
	register(func(g *globals) *cobra.Command {
		return &cobra.Command{
			Use:   "connection",
			Short: "Show, test, enable or disable the connection",
			RunE: func(cmd *cobra.Command, args []string) error {
				return notBuilt("coupler connection")
			},
		}
	})
}
