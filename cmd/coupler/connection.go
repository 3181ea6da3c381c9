package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/coupler/coupler/internal/setup"
)

// exitError carries a chosen exit status (a failed test: 2).
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }
func (e *exitError) Unwrap() error { return e.err }
func (e *exitError) ExitCode() int { return e.code }

func init() {
	register(func(g *globals) *cobra.Command {
		var name string
		cmd := &cobra.Command{
			Use:   "connection",
			Short: "Show, test, enable or disable the connection",
		}
		cmd.PersistentFlags().StringVar(&name, "name", setup.DefaultName, "connection name")
		with := func(use, short string, run func(ctx context.Context, env *setupEnv, out io.Writer) error) *cobra.Command {
			return &cobra.Command{Use: use, Short: short, Args: cobra.NoArgs,
				RunE: func(cmd *cobra.Command, _ []string) error {
					env, err := openSetupEnv(cmd.Context(), g)
					if err != nil {
						return err
					}
					defer env.Close()
					return run(cmd.Context(), env, cmd.OutOrStdout())
				}}
		}
		var asJSON bool
		var asUser string
		show := with("show", "Print the whole setup (secrets masked) and its health", func(ctx context.Context, env *setupEnv, out io.Writer) error {
			return showConnection(ctx, env, out, name, asUser, asJSON)
		})
		show.Flags().BoolVar(&asJSON, "json", false, "print as JSON")
		show.Flags().StringVar(&asUser, "user", os.Getenv("COUPLER_USER"), "the coupler user (e-mail) whose CRM mapping \"current user is mapped\" shows (env COUPLER_USER)")
		cmd.AddCommand(show)

		var testJSON bool
		test := with("test", "Test the connection: reach, sign in, version, roles, solution, currency, company", func(ctx context.Context, env *setupEnv, out io.Writer) error {
			list, err := env.svc.Test(ctx, name)
			if err != nil {
				return err
			}
			if err := printChecklist(out, list, testJSON); err != nil {
				return err
			}
			if !list.OK() {
				return &exitError{code: 2, err: errors.New("the connection test failed: see the checklist above")}
			}
			return nil
		})
		test.Flags().BoolVar(&testJSON, "json", false, "print the checklist as JSON")
		cmd.AddCommand(test)

		cmd.AddCommand(with("enable", "Test the connection and enable it when every check passes", func(ctx context.Context, env *setupEnv, out io.Writer) error {
			list, err := env.svc.Enable(ctx, name)
			if len(list.Checks) > 0 {
				fmt.Fprint(out, list.String())
			}
			if err != nil {
				return &exitError{code: 2, err: err}
			}
			fmt.Fprintln(out, "The connection is enabled: synchronisation jobs will run on their schedules.")
			return nil
		}))

		var reason string
		disable := with("disable", "Disconnect: stop all synchronisation, keep every setting", func(ctx context.Context, env *setupEnv, out io.Writer) error {
			if _, err := env.svc.Disable(ctx, name, reason); err != nil {
				return err
			}
			fmt.Fprintln(out, "The connection is disabled: synchronisation jobs are on hold (a running job stops after its current batch).")
			fmt.Fprintln(out, "Every setting is kept; run `coupler connection enable` to resume.")
			return nil
		})
		disable.Flags().StringVar(&reason, "reason", "", "why (shown by status commands)")
		cmd.AddCommand(disable)

		cmd.AddCommand(with("assign-roles", "Give the integration user the Integration Administrator and Integration User roles", func(ctx context.Context, env *setupEnv, out io.Writer) error {
			as, err := env.svc.AssignRoles(ctx, name)
			printAssignments(out, as)
			return err
		}))

		var adminUser, adminPassword string
		imp := &cobra.Command{Use: "import-solution", Short: "Import the integration solution into the CRM (as an administrator)", Args: cobra.NoArgs,
			RunE: func(cmd *cobra.Command, _ []string) error {
				env, err := openSetupEnv(cmd.Context(), g)
				if err != nil {
					return err
				}
				defer env.Close()
				admin, err := adminCredentials(cmd, adminUser, adminPassword)
				if err != nil {
					return err
				}
				changes, err := env.svc.ImportSolutionReport(cmd.Context(), name, admin)
				for _, c := range changes {
					fmt.Fprintf(cmd.OutOrStdout(), "  created %s %s\n", c.Kind, c.Name)
				}
				if err != nil {
					return err
				}
				if len(changes) == 0 {
					fmt.Fprintf(cmd.OutOrStdout(), "The integration solution %s %s is installed and complete: nothing to change.\n", setup.SolutionUniqueName, setup.SolutionVersion)
					return nil
				}
				fmt.Fprintf(cmd.OutOrStdout(), "The integration solution %s %s is imported.\n", setup.SolutionUniqueName, setup.SolutionVersion)
				return nil
			}}
		imp.Flags().StringVar(&adminUser, "admin-user", "", "CRM administrator's user name (not stored; default: the integration user)")
		imp.Flags().StringVar(&adminPassword, "admin-password", "", "CRM administrator's password (not stored; asked on a terminal when --admin-user is given without it)")
		cmd.AddCommand(imp)

		cmd.AddCommand(with("reset-web-client-url", "Set the ERP web client URL back to its default, derived from the ERP API URL", func(ctx context.Context, env *setupEnv, out io.Writer) error {
			u, err := env.svc.ResetWebClientURL(ctx, name)
			if err != nil {
				return err
			}
			fmt.Fprintf(out, "ERP web client URL reset to %s\n", u)
			return refreshLinksNow(ctx, env, out)
		}))
		return cmd
	})
}

func adminCredentials(cmd *cobra.Command, user, password string) (*setup.AdminCredentials, error) {
	if user == "" {
		return nil, nil
	}
	if password == "" {
		password = os.Getenv("COUPLER_CRM_ADMIN_PASSWORD")
	}
	if password == "" {
		f, ok := cmd.InOrStdin().(*os.File)
		if !ok || !term.IsTerminal(int(f.Fd())) {
			return nil, errors.New("--admin-password is required (or COUPLER_CRM_ADMIN_PASSWORD) when not on a terminal")
		}
		fmt.Fprintf(cmd.OutOrStdout(), "Password of %s: ", user)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(cmd.OutOrStdout())
		if err != nil {
			return nil, fmt.Errorf("read the password: %w", err)
		}
		password = string(b)
	}
	return &setup.AdminCredentials{User: user, Password: password}, nil
}

func printAssignments(out io.Writer, as []setup.RoleAssignment) {
	for _, a := range as {
		if a.Added {
			fmt.Fprintf(out, "Assigned the %s role (%s) to the integration user.\n", a.Role, a.RoleID)
		} else {
			fmt.Fprintf(out, "The integration user already holds the %s role.\n", a.Role)
		}
	}
}

func printChecklist(out io.Writer, list setup.Checklist, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"ok": list.OK(), "checklist": list})
	}
	fmt.Fprint(out, list.String())
	if list.OK() {
		fmt.Fprintln(out, "All checks passed.")
	} else {
		fmt.Fprintln(out, list.Facts.Summary+".")
	}
	return nil
}

// showConnection prints the setup with secrets as set/not set, the last
// test's facts and every warning (encryption, disabled).
func showConnection(ctx context.Context, env *setupEnv, out io.Writer, name, asUser string, asJSON bool) error {
	c, err := env.svc.Load(ctx, name)
	if err != nil {
		return err
	}
	secrets, err := env.svc.ExistingSecrets(ctx, c.Name)
	if err != nil {
		return err
	}
	st, err := env.box.Status(ctx)
	if err != nil {
		return err
	}
	masked := map[string]string{}
	for _, n := range setup.SecretNames {
		masked[n] = "not set"
		if secrets[n] {
			masked[n] = "set"
		}
	}
	um, err := userMapping(ctx, env, c, asUser)
	if err != nil {
		return err
	}
	if asJSON {
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		return enc.Encode(map[string]any{"connection": c, "secrets": masked, "encryption": statusJSON(st), "user_mapping": um})
	}
	yn := func(b bool) string {
		if b {
			return "yes"
		}
		return "no"
	}
	w := func(label, v string) { fmt.Fprintf(out, "  %-36s %s\n", label+":", v) }
	fmt.Fprintf(out, "Connection %q\n", c.Name)
	w("Enabled", yn(c.Enabled))
	if !c.Enabled && c.DisableReason != "" {
		w("Why not enabled", c.DisableReason)
	}
	fmt.Fprintln(out, "CRM (Dynamics 365 Sales)")
	w("URL", c.CRM.URL)
	w("Authentication type", string(c.CRM.AuthType))
	if c.CRM.UserName != "" {
		w("Integration user", c.CRM.UserName)
	}
	if c.CRM.AuthType.UsesPassword() {
		w("Password", masked[setup.SecretCRMPassword])
	}
	if c.CRM.ClientID != "" {
		w("Client id", c.CRM.ClientID)
	}
	switch c.CRM.AuthType {
	case setup.AuthClientSecret:
		w("Client secret", masked[setup.SecretCRMClientSecret])
	case setup.AuthCertificate:
		w("Certificate", masked[setup.SecretCRMCertificate])
	}
	if c.CRM.TokenURL != "" {
		w("Token endpoint", c.CRM.TokenURL)
	}
	w("Connection string", c.CRM.ConnectionString)
	w("Web API version", c.CRM.APIVersion)
	w("SDK version", c.CRM.SDKVersion)
	w("Allow plain http", yn(c.CRM.AllowInsecure))
	fmt.Fprintln(out, "ERP (Business Central)")
	w("API URL", c.ERP.APIURL)
	w("Company id", c.ERP.CompanyID)
	w("Authentication", c.ERP.AuthType)
	if c.ERP.AuthType == "basic" {
		w("User", c.ERP.UserName)
		w("Web service access key", masked[setup.SecretERPAccessKey])
	} else {
		w("Client id", c.ERP.ClientID)
		w("Client secret", masked[setup.SecretERPClientSecret])
		if c.ERP.TokenURL != "" {
			w("Token endpoint", c.ERP.TokenURL)
		}
	}
	w("Web client URL", c.ERP.WebClientURL)
	fmt.Fprintln(out, "Advanced")
	w("Import integration solution", yn(c.CRM.ImportSolution))
	w("Item availability web service", yn(c.Availability.Enabled))
	if c.Availability.Enabled {
		w("  OData URL", c.Availability.ODataURL)
		w("  User", c.Availability.UserName)
		w("  Access key", masked[setup.SecretAvailabilityKey])
	}
	w("Stock refresh job", yn(c.Availability.JobEnable))
	w("Sales order integration", yn(c.SalesOrders.Enabled))
	w("  Create sales orders automatically", yn(c.SalesOrders.AutoCreate))
	w("  Process quotes automatically", yn(c.SalesOrders.AutoProcessQuote))
	w("Bidirectional sales orders", yn(c.SalesOrders.Bidirectional))
	w("ERP users must map to CRM users", yn(c.UsersMustMapToCRM))
	w("Users mapped to CRM users", fmt.Sprintf("%d of %d (see `coupler users list`, refresh with `coupler users map`)", um.Mapped, um.Users))
	if um.CurrentUser != "" {
		w("Current user is mapped", um.CurrentUserMapped)
	}
	fmt.Fprintln(out, "Last test")
	if c.LastTest.At.IsZero() {
		w("Result", "never tested: run `coupler connection test`")
	} else {
		w("At", c.LastTest.At.UTC().Format("2006-01-02 15:04:05Z"))
		w("Result", c.LastTest.Summary)
		w("CRM version", c.LastTest.CRMVersion)
		w("Solution installed", yn(c.LastTest.SolutionInstalled))
		w("ERP company", c.LastTest.ERPCompanyName)
	}
	if st.Warning != "" {
		fmt.Fprintln(out, strings.TrimSpace(st.Warning))
	}
	return nil
}
