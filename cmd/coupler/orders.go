package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/orders"
)

func init() {
	register(func(g *globals) *cobra.Command {
		c := &cobra.Command{Use: "orders", Short: "Turn submitted CRM sales orders into ERP sales orders"}
		c.AddCommand(ordersCreateCmd(g), ordersPendingCmd(g))
		return c
	})
}

// openOrders opens the store and the enabled connection's clients.
func openOrders(cmd *cobra.Command, g *globals) (*orders.Service, *setupEnv, error) {
	ctx := cmd.Context()
	env, err := openSetupEnv(ctx, g)
	if err != nil {
		return nil, nil, err
	}
	conn, err := orders.NewDialer(env.st, env.box, g.log).Dial(ctx)
	if errors.Is(err, orders.ErrDisabled) {
		env.Close()
		return nil, nil, fmt.Errorf("%w: set up and enable the connection first (`coupler setup`, `coupler connection enable`)", err)
	}
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	if !conn.Setup.SalesOrders.Enabled {
		env.Close()
		return nil, nil, errors.New("sales order integration is off in the connection setup: turn it on (`coupler setup`, sales order integration) to create ERP orders")
	}
	svc, err := orders.New(orders.Options{CRM: conn.CRM, ERP: conn.ERP, Store: env.st, Logger: g.log})
	if err != nil {
		env.Close()
		return nil, nil, err
	}
	return svc, env, nil
}

func printOutcomes(w io.Writer, asJSON bool, out []orders.Outcome) error {
	if asJSON {
		if out == nil {
			out = []orders.Outcome{}
		}
		return json.NewEncoder(w).Encode(out)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "CRM ORDER\tNAME\tRESULT\tERP ORDER\tMESSAGE")
	for _, o := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", o.CRMNumber, o.Name, o.Result, o.ERPNumber, o.Error)
	}
	return tw.Flush()
}

func ordersCreateCmd(g *globals) *cobra.Command {
	var number, writeIn, freight string
	var asJSON bool
	c := &cobra.Command{Use: "create", Short: "Create ERP orders from submitted CRM orders (all pending ones, or --order NUMBER)",
		Long: "Each submitted CRM order becomes one ERP sales order, exactly once: running this again, or after a crash, " +
			"never creates a second ERP order. An order that cannot be created (uncoupled customer, write-in line without an " +
			"ERP item, …) is reported with what to fix; the others go on. The exit status is 1 when an order failed.",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, env, err := openOrders(cmd, g)
			if err != nil {
				return err
			}
			defer env.Close()
			ctx := cmd.Context()
			for key, v := range map[string]string{orders.SettingWriteInItem: writeIn, orders.SettingFreightItem: freight} {
				if v != "" {
					if err := env.st.PutSetting(ctx, key, v); err != nil {
						return err
					}
				}
			}
			out, err := svc.CreateOrders(ctx, number)
			if perr := printOutcomes(cmd.OutOrStdout(), asJSON, out); perr != nil {
				return perr
			}
			if err != nil {
				return err
			}
			failed := 0
			for _, o := range out {
				if o.Result == "failed" {
					failed++
				}
			}
			if failed > 0 {
				return fmt.Errorf("%d of %d orders failed; fix what each message says and run `coupler orders create` again", failed, len(out))
			}
			return nil
		}}
	c.Flags().StringVar(&number, "order", "", "only the CRM order with this number (ordernumber)")
	c.Flags().StringVar(&writeIn, "write-in-item", "", "ERP item number for CRM write-in lines (saved for later runs)")
	c.Flags().StringVar(&freight, "freight-item", "", "ERP item number for CRM freight amounts (saved for later runs)")
	c.Flags().BoolVar(&asJSON, "json", false, "print the outcomes as JSON")
	return c
}

func ordersPendingCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "pending", Short: "List submitted CRM orders without an ERP order yet",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			svc, env, err := openOrders(cmd, g)
			if err != nil {
				return err
			}
			defer env.Close()
			out, err := svc.Pending(cmd.Context())
			if err != nil {
				return err
			}
			return printOutcomes(cmd.OutOrStdout(), asJSON, out)
		}}
	c.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return c
}
