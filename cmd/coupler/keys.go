package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/availability"
)

func init() {
	register(func(g *globals) *cobra.Command {
		c := &cobra.Command{Use: "keys", Short: "Web service access keys of the item availability service (/odata/v4/)"}
		c.AddCommand(keysCreateCmd(g), keysListCmd(g), keysRevokeCmd(g))
		return c
	})
}

func keysCreateCmd(g *globals) *cobra.Command {
	var user string
	c := &cobra.Command{Use: "create --user ERP-USER", Short: "Issue a key (shown once; only its hash is stored)",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openSetupEnv(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer env.Close()
			key, k, err := availability.CreateKey(cmd.Context(), env.st, user)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Key %d for user %s (copy it now: it is not shown again):\n%s\n", k.ID, k.UserName, key)
			return nil
		}}
	c.Flags().StringVar(&user, "user", "", "the ERP user name the CRM sends with the key (required)")
	return c
}

func keysListCmd(g *globals) *cobra.Command {
	var asJSON bool
	c := &cobra.Command{Use: "list", Short: "List keys (prefix, user, dates; never the key)",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := openSetupEnv(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer env.Close()
			ks, err := env.st.ListServiceKeys(cmd.Context())
			if err != nil {
				return err
			}
			type row struct {
				ID        int64  `json:"id"`
				User      string `json:"user"`
				Prefix    string `json:"prefix"`
				Created   string `json:"created_at"`
				LastUsed  string `json:"last_used_at,omitempty"`
				RevokedAt string `json:"revoked_at,omitempty"`
			}
			ts := func(t time.Time) string {
				if t.IsZero() {
					return ""
				}
				return t.Format(time.RFC3339)
			}
			rows := []row{}
			for _, k := range ks {
				rows = append(rows, row{k.ID, k.UserName, k.Prefix + "…", ts(k.CreatedAt), ts(k.LastUsedAt), ts(k.RevokedAt)})
			}
			if asJSON {
				return json.NewEncoder(cmd.OutOrStdout()).Encode(rows)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tUSER\tKEY\tCREATED\tLAST USED\tREVOKED")
			for _, r := range rows {
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", r.ID, r.User, r.Prefix, r.Created, r.LastUsed, r.RevokedAt)
			}
			return tw.Flush()
		}}
	c.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
	return c
}

func keysRevokeCmd(g *globals) *cobra.Command {
	return &cobra.Command{Use: "revoke ID", Short: "Revoke a key: the CRM can no longer sign in with it",
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			id, err := strconv.ParseInt(args[0], 10, 64)
			if err != nil {
				return fmt.Errorf("key id %q: not a number; see `coupler keys list`", args[0])
			}
			env, err := openSetupEnv(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer env.Close()
			if err := availability.RevokeKey(cmd.Context(), env.st, id); err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "Key %d revoked.\n", id)
			return nil
		}}
}
