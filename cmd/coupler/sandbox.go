package main

import "github.com/spf13/cobra"

func init() {
	register(func(g *globals) *cobra.Command {
		return &cobra.Command{
			Use:   "sandbox",
			Short: "Serve local simulators of Dynamics 365 Sales and Business Central",
			RunE: func(cmd *cobra.Command, args []string) error {
				return notBuilt("coupler sandbox")
			},
		}
	})
}
