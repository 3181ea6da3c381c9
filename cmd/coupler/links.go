package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/links"
	"github.com/coupler/coupler/internal/orders"
	"github.com/coupler/coupler/internal/statistics"
)

func init() {
	register(func(g *globals) *cobra.Command {
		cmd := &cobra.Command{Use: "links", Short: "Deep links from CRM records to their ERP records"}
		cmd.AddCommand(&cobra.Command{Use: "refresh", Short: "Write the ERP web client link on every coupled CRM record now", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				env, err := openSetupEnv(cmd.Context(), g)
				if err != nil {
					return err
				}
				defer env.Close()
				return refreshLinksNow(cmd.Context(), env, cmd.OutOrStdout())
			}})
		return cmd
	})
	register(func(g *globals) *cobra.Command {
		cmd := &cobra.Command{Use: "statistics", Short: "Account statistics from the ERP in the CRM"}
		cmd.AddCommand(&cobra.Command{Use: "refresh", Short: "Write the ERP figures of every coupled account to the CRM now", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				ctx := cmd.Context()
				env, err := openSetupEnv(ctx, g)
				if err != nil {
					return err
				}
				defer env.Close()
				c, err := orders.NewDialer(env.st, env.box, g.log).Dial(ctx)
				if err != nil {
					return err
				}
				res, err := statistics.Refresh(ctx, statistics.Options{CRM: c.CRM, ERP: c.ERP, Couplings: env.st, Logger: g.log})
				if err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Account statistics: %d coupled accounts, %d written, %d unchanged, %d failed\n", res.Accounts, res.Written, res.Unchanged, res.Failed)
				for _, e := range res.Errors {
					fmt.Fprintln(cmd.OutOrStdout(), "  "+e)
				}
				return nil
			}})
		return cmd
	})
}

// refreshLinksNow rewrites the deep links of the enabled connection; a
// disabled connection is left for the scheduled job once enabled.
func refreshLinksNow(ctx context.Context, env *setupEnv, out io.Writer) error {
	c, err := orders.NewDialer(env.st, env.box, nil).Dial(ctx)
	if errors.Is(err, orders.ErrDisabled) {
		fmt.Fprintln(out, "The connection is not enabled: ERP links on CRM records will be rewritten once it is (links job).")
		return nil
	}
	if err != nil {
		return err
	}
	rs, err := links.Refresh(ctx, links.Options{Setup: c.Setup, CRM: c.CRM, ERP: c.ERP, Couplings: env.st})
	for _, r := range rs {
		fmt.Fprintf(out, "ERP links on %s: %d coupled, %d written, %d unchanged, %d cleared, %d failed\n", r.Table, r.Coupled, r.Updated, r.Unchanged, r.Cleared, r.Failed)
		for _, e := range r.Errors {
			fmt.Fprintln(out, "  "+e)
		}
	}
	return err
}
