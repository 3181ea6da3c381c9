package main

import (
	"fmt"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/setup"
)

func init() {
	register(func(g *globals) *cobra.Command {
		var conn string
		c := &cobra.Command{Use: "couple MAPPING ERP-ID CRM-ID", Short: "Couple one ERP record with one CRM record by hand",
			Args: cobra.ExactArgs(3),
			RunE: func(cmd *cobra.Command, args []string) error {
				env, err := openSyncEnv(cmd.Context(), g, conn, true)
				if err != nil {
					return err
				}
				defer env.Close()
				cp, err := env.eng.Couple(cmd.Context(), args[0], args[1], args[2])
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Coupled ERP %s with CRM %s under %s; the next run synchronises them.\n", cp.ERPID, cp.CRMID, cp.Mapping)
				return nil
			}}
		c.Flags().StringVar(&conn, "connection", setup.DefaultName, "connection name")
		return c
	})
	register(func(g *globals) *cobra.Command {
		return &cobra.Command{Use: "decouple MAPPING ERP-ID", Short: "Remove a coupling (both records stay as they are)",
			Args: cobra.ExactArgs(2),
			RunE: func(cmd *cobra.Command, args []string) error {
				ctx := cmd.Context()
				env, err := openSyncEnv(ctx, g, "", false)
				if err != nil {
					return err
				}
				defer env.Close()
				ms, err := loadMappings(ctx, env.setupEnv.st)
				if err != nil {
					return err
				}
				name, err := findMapping(ms, args[0])
				if err != nil {
					return err
				}
				c, err := env.st.GetCouplingByERP(ctx, name, args[1])
				if err != nil {
					return fmt.Errorf("ERP record %s is not coupled under %s", args[1], name)
				}
				if err := env.st.DeleteCoupling(ctx, name, args[1]); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Decoupled ERP %s from CRM %s under %s.\n", c.ERPID, c.CRMID, name)
				return nil
			}}
	})
	register(func(g *globals) *cobra.Command {
		var conn string
		var dry bool
		c := &cobra.Command{Use: "match MAPPING", Short: "Couple uncoupled records whose match fields are equal (--dry-run lists them only)",
			Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				env, err := openSyncEnv(cmd.Context(), g, conn, true)
				if err != nil {
					return err
				}
				defer env.Close()
				res, err := env.eng.Match(cmd.Context(), args[0], dry)
				if err != nil {
					return err
				}
				out := cmd.OutOrStdout()
				verb := "Coupled"
				if dry {
					verb = "Would couple"
				}
				fmt.Fprintf(out, "%s %d pair(s) under %s:\n", verb, len(res.Pairs), res.Mapping)
				tw := tabwriter.NewWriter(out, 0, 2, 2, ' ', 0)
				fmt.Fprintln(tw, "ERP ID\tCRM ID\tMATCHED ON")
				for _, p := range res.Pairs {
					fmt.Fprintf(tw, "%s\t%s\t%s\n", p.ERPID, p.CRMID, p.On)
				}
				if err := tw.Flush(); err != nil {
					return err
				}
				if len(res.Ambiguous) > 0 {
					fmt.Fprintf(out, "%d ERP record(s) match several CRM records and were left alone: %v (couple them with coupler couple)\n", len(res.Ambiguous), res.Ambiguous)
				}
				fmt.Fprintf(out, "%d uncoupled ERP record(s) had no match.\n", res.UnmatchedER)
				if !dry && len(res.Pairs) > 0 {
					fmt.Fprintf(out, "Run `coupler sync run %q --full` to synchronise the coupled records.\n", res.Mapping)
				}
				return nil
			}}
		c.Flags().StringVar(&conn, "connection", setup.DefaultName, "connection name")
		c.Flags().BoolVar(&dry, "dry-run", false, "list what would be coupled, write nothing")
		return c
	})
}
