package main

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/users"
)

func init() {
	register(func(g *globals) *cobra.Command {
		cmd := &cobra.Command{Use: "users", Short: "Manage the people who sign in to coupler's web UI and API"}
		cmd.AddCommand(usersCreateCommand(g), usersListCommand(g), usersMapCommand(g))
		return cmd
	})
}

func usersCreateCommand(g *globals) *cobra.Command {
	var email, name, role string
	var passwordStdin bool
	cmd := &cobra.Command{
		Use:   "create --email E [--name N] [--role admin|operator|viewer] [--password-stdin]",
		Short: "Create a user (the first one is usually an admin)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			r, err := users.ParseRole(role)
			if err != nil {
				return err
			}
			password, err := readPassword(cmd, passwordStdin)
			if err != nil {
				return err
			}
			st, err := openStore(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer st.Close()
			u, err := users.NewService(st, g.log, users.KDF{}).Create(cmd.Context(), email, name, r, password)
			if err != nil {
				return err
			}
			fmt.Fprintf(cmd.OutOrStdout(), "created user %s (%s) with id %d\n", u.Email, u.Role, u.ID)
			return nil
		},
	}
	cmd.Flags().StringVar(&email, "email", "", "e-mail address, used to sign in and to match a CRM user")
	cmd.Flags().StringVar(&name, "name", "", "display name (default: the e-mail)")
	cmd.Flags().StringVar(&role, "role", "viewer", "admin, operator or viewer")
	cmd.Flags().BoolVar(&passwordStdin, "password-stdin", false, "read the password from standard input instead of prompting")
	_ = cmd.MarkFlagRequired("email")
	return cmd
}

// readPassword prompts twice on a terminal, or reads one line from stdin.
func readPassword(cmd *cobra.Command, fromStdin bool) (string, error) {
	if !fromStdin && term.IsTerminal(int(os.Stdin.Fd())) {
		fmt.Fprint(cmd.ErrOrStderr(), "Password: ")
		a, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(cmd.ErrOrStderr(), "Repeat password: ")
		b, err := term.ReadPassword(int(os.Stdin.Fd()))
		fmt.Fprintln(cmd.ErrOrStderr())
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return "", fmt.Errorf("password: the two entries differ; try again")
		}
		return string(a), nil
	}
	line, err := bufio.NewReader(cmd.InOrStdin()).ReadString('\n')
	if err != nil && line == "" {
		return "", fmt.Errorf("password: nothing on standard input; pipe it in (echo … | coupler users create --password-stdin) or run on a terminal")
	}
	return strings.TrimRight(line, "\r\n"), nil
}

func usersListCommand(g *globals) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List users with their role and CRM mapping",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			st, err := openStore(cmd.Context(), g)
			if err != nil {
				return err
			}
			defer st.Close()
			list, err := st.ListUsers(cmd.Context())
			if err != nil {
				return err
			}
			if c, err := st.GetConnection(cmd.Context(), setup.DefaultName); err == nil {
				req := "not required: CRM calls go as the integration user"
				if c.UsersMustMapToCRM {
					req = "required: unmapped users can read but not change CRM data"
				}
				fmt.Fprintf(cmd.OutOrStdout(), "Mapping to CRM users is %s (refresh with `coupler users map`).\n", req)
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tE-MAIL\tNAME\tROLE\tCRM USER\tSTATE")
			for _, u := range list {
				crm, state := u.CRMUserID, "active"
				if crm == "" {
					crm = "(not mapped)"
				}
				if u.Disabled {
					state = "disabled"
				}
				fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", u.ID, u.Email, u.Name, u.Role, crm, state)
			}
			return tw.Flush()
		},
	}
}

// usersMapCommand matches every user to an enabled CRM user by e-mail and
// stores the result ("ERP users must map to CRM users").
func usersMapCommand(g *globals) *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "map",
		Short: "Match each user to the enabled CRM user with the same primary e-mail",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx := cmd.Context()
			env, err := openSetupEnv(ctx, g)
			if err != nil {
				return err
			}
			defer env.Close()
			c, err := env.svc.Load(ctx, name)
			if err != nil {
				return err
			}
			crm, err := setup.DialCRM(ctx, c, env.box, env.svc.Options)
			if err != nil {
				return err
			}
			maps, err := users.NewService(env.st, g.log, users.KDF{}).MapAll(ctx, users.CRMDirectory{Client: crm})
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "E-MAIL\tCRM USER\tRESULT")
			unmapped := 0
			for _, m := range maps {
				if m.Problem != nil {
					unmapped++
					fmt.Fprintf(tw, "%s\t(not mapped)\t%s; %s\n", m.User.Email, m.Problem.Reason, m.Problem.Fix)
					continue
				}
				res := "mapped"
				if m.Changed {
					res = "newly mapped"
				}
				fmt.Fprintf(tw, "%s\t%s (%s)\t%s\n", m.User.Email, m.CRMUser.ID, m.CRMUser.FullName, res)
			}
			if err := tw.Flush(); err != nil {
				return err
			}
			if unmapped > 0 && c.UsersMustMapToCRM {
				fmt.Fprintf(cmd.OutOrStdout(), "%d user(s) not mapped: they keep read access but cannot change CRM data.\n", unmapped)
			}
			return nil
		},
	}
	cmd.Flags().StringVar(&name, "name", setup.DefaultName, "connection name")
	return cmd
}
