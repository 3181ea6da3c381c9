package main

import "github.com/spf13/cobra"

func init() {
	register(func(g *globals) *cobra.Command {
		return &cobra.Command{
			Use:   "demo",
			Short: "Run the whole integration offline against the sandbox",
			RunE: func(cmd *cobra.Command, args []string) error {
				return notBuilt("coupler demo")
			},
		}
	})
}
