package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/spf13/cobra"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/setup"
)

type setupFlags struct {
	name           string
	fromFile       string
	fromSandbox    string
	nonInteractive bool
	encrypt        string
	defaultSetup   string
	adminUser      string
	adminPassword  string
	publicURL      string
	values         map[string]*string
}

func init() { register(newSetupCommand) }

// setupFromReady runs the assisted setup non-interactively from the
// sandbox's ready file (what `coupler demo` needs): encryption on, the
// solution imported as the sandbox's administrator, roles assigned, the
// connection enabled and the default synchronisation setup created.
func setupFromReady(ctx context.Context, g *globals, readyPath string, out io.Writer) error {
	cmd := newSetupCommand(g)
	cmd.SetContext(ctx)
	cmd.SetOut(out)
	cmd.SetIn(strings.NewReader(""))
	for k, v := range map[string]string{"from-sandbox": readyPath, "non-interactive": "true"} {
		if err := cmd.Flags().Set(k, v); err != nil {
			return err
		}
	}
	return cmd.RunE(cmd, nil)
}

func newSetupCommand(g *globals) *cobra.Command {
	fl := &setupFlags{values: map[string]*string{}}
	cmd := &cobra.Command{
		Use:   "setup",
		Short: "Assisted setup of the connection (interactive on a terminal, or from flags / a file)",
		Long: "Sets up the connection between Business Central and Dynamics 365 Sales in the seed's steps:\n" +
			"CRM URL, credentials, ERP, advanced settings; then imports the integration solution, assigns\n" +
			"the integration roles, tests and enables the connection, and offers the default synchronisation\n" +
			"setup. On a terminal without answers it asks each question and checks each answer; otherwise it\n" +
			"takes answers from --from-sandbox, --from-file and the flags (flags win).",
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSetup(cmd, g, fl) },
	}
	f := cmd.Flags()
	f.StringVar(&fl.name, "name", setup.DefaultName, "connection name")
	f.StringVar(&fl.fromFile, "from-file", "", "read answers from a TOML or JSON file of field = value (keys as the flags without --, e.g. \"crm.url\")")
	f.StringVar(&fl.fromSandbox, "from-sandbox", "", "read answers from the sandbox's ready file (coupler sandbox --ready-file)")
	f.BoolVar(&fl.nonInteractive, "non-interactive", false, "never ask: fail on missing or bad answers")
	f.StringVar(&fl.encrypt, "encrypt", "yes", "when encryption at rest is not enabled yet: yes enables it, no stores secrets in clear (with a warning)")
	f.StringVar(&fl.defaultSetup, "default-setup", "yes", "when no mappings exist yet: yes creates the default synchronisation setup")
	f.StringVar(&fl.adminUser, "crm-admin-user", "", "CRM administrator to import the solution as (not stored; default: the integration user)")
	f.StringVar(&fl.adminPassword, "crm-admin-password", "", "password of --crm-admin-user (not stored; or COUPLER_CRM_ADMIN_PASSWORD)")
	f.StringVar(&fl.publicURL, "public-url", "", "coupler's public URL, for the item availability OData URL (default: http.public_url)")
	for _, fd := range setup.Fields() {
		v := new(string)
		fl.values[fd.Key] = v
		usage := fd.Label
		if fd.Secret {
			usage += " (or env " + secretEnv(fd) + ", which the process list does not show)"
		}
		f.StringVar(v, fd.Flag(), "", usage)
		if fd.Bool {
			f.Lookup(fd.Flag()).NoOptDefVal = "yes"
		}
	}
	return cmd
}

// secretEnv is the environment variable a secret answer can come from.
func secretEnv(f setup.Field) string {
	return "COUPLER_" + strings.ToUpper(strings.ReplaceAll(f.Flag(), "-", "_"))
}

// readyFile is the sandbox's ready object (DESIGN.md).
type readyFile struct {
	CRMURL              string `json:"crm_url"`
	ERPURL              string `json:"erp_url"`
	ERPWebClientURL     string `json:"erp_web_client_url"`
	TokenURL            string `json:"token_url"`
	IntegrationUser     string `json:"integration_user"`
	IntegrationPassword string `json:"integration_password"`
	ERPClientID         string `json:"erp_client_id"`
	ERPClientSecret     string `json:"erp_client_secret"`
	ERPCompanyID        string `json:"erp_company_id"`
	CRMAdminUser        string `json:"crm_admin_user"`
	CRMAdminPassword    string `json:"crm_admin_password"`
}

// sandboxAnswers turns the ready object into answers: the integration user
// signs in with user + password (OAuth), the ERP with client credentials.
func sandboxAnswers(path string) (setup.Answers, *setup.AdminCredentials, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("--from-sandbox: %w", err)
	}
	var r readyFile
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, fmt.Errorf("--from-sandbox %s: not the sandbox's ready JSON: %w", path, err)
	}
	if r.CRMURL == "" || r.ERPURL == "" {
		return nil, nil, fmt.Errorf("--from-sandbox %s: crm_url or erp_url is missing; give the file written by `coupler sandbox --ready-file`", path)
	}
	var admin *setup.AdminCredentials
	if r.CRMAdminUser != "" {
		admin = &setup.AdminCredentials{User: r.CRMAdminUser, Password: r.CRMAdminPassword}
	}
	return setup.Answers{
		"allow-insecure": "yes", "crm.url": r.CRMURL, "crm.auth-type": string(setup.AuthOAuth),
		"crm.user": r.IntegrationUser, "crm.password": r.IntegrationPassword, "crm.token-url": r.TokenURL,
		"erp.url": r.ERPURL, "erp.company-id": r.ERPCompanyID, "erp.auth-type": "oauth",
		"erp.client-id": r.ERPClientID, "erp.client-secret": r.ERPClientSecret, "erp.token-url": r.TokenURL,
		"erp.web-client-url": r.ERPWebClientURL,
	}, admin, nil
}

func fileAnswers(path string) (setup.Answers, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--from-file: %w", err)
	}
	raw := map[string]any{}
	if strings.EqualFold(filepath.Ext(path), ".json") {
		err = json.Unmarshal(data, &raw)
	} else {
		_, err = toml.Decode(string(data), &raw)
	}
	if err != nil {
		return nil, fmt.Errorf("--from-file %s: %w", path, err)
	}
	out := setup.Answers{}
	flatten("", raw, out)
	return out, nil
}

// flatten accepts both "crm.url" = "…" and [crm] url = "…".
func flatten(prefix string, m map[string]any, out setup.Answers) {
	for k, v := range m {
		key := strings.ReplaceAll(k, "_", "-")
		if prefix != "" {
			key = prefix + "." + key
		}
		switch x := v.(type) {
		case map[string]any:
			flatten(key, x, out)
		case bool:
			out[key] = map[bool]string{true: "yes", false: "no"}[x]
		default:
			out[key] = fmt.Sprint(x)
		}
	}
}

func runSetup(cmd *cobra.Command, g *globals, fl *setupFlags) error {
	ctx := cmd.Context()
	out := cmd.OutOrStdout()
	answers := setup.Answers{}
	var sandboxAdmin *setup.AdminCredentials
	if fl.fromSandbox != "" {
		a, admin, err := sandboxAnswers(fl.fromSandbox)
		if err != nil {
			return err
		}
		sandboxAdmin = admin
		for k, v := range a {
			answers[k] = v
		}
	}
	if fl.fromFile != "" {
		a, err := fileAnswers(fl.fromFile)
		if err != nil {
			return err
		}
		for k, v := range a {
			answers[k] = v
		}
	}
	for _, fd := range setup.Fields() {
		if cmd.Flags().Changed(fd.Flag()) {
			answers[fd.Key] = *fl.values[fd.Key]
		}
	}
	explicit := len(answers) > 0 // secrets from the environment alone do not turn the guide off
	for _, fd := range setup.Fields() {
		if _, given := answers[fd.Key]; !given && fd.Secret {
			if v := os.Getenv(secretEnv(fd)); v != "" {
				answers[fd.Key] = v
			}
		}
	}
	encrypt, err := setup.ParseBool("--encrypt", fl.encrypt)
	if err != nil {
		return err
	}
	defaultSetup, err := setup.ParseBool("--default-setup", fl.defaultSetup)
	if err != nil {
		return err
	}
	publicURL := fl.publicURL
	if publicURL == "" {
		publicURL = g.cfg.HTTP.PublicURL
	}
	if publicURL == "" {
		publicURL = "http://" + g.cfg.HTTP.Addr
	}

	env, err := openSetupEnv(ctx, g)
	if err != nil {
		return err
	}
	defer env.Close()
	existing, err := env.svc.ExistingSecrets(ctx, fl.name)
	if err != nil {
		return err
	}
	d := setup.NewDraft(fl.name, publicURL, existing)
	// A re-run starts from the stored setup: only what is answered changes.
	current := setup.Answers{}
	if c, err := env.svc.Load(ctx, fl.name); err == nil {
		current = setup.AnswersFrom(c)
		fmt.Fprintf(out, "Connection %q exists: its current values are the defaults; secrets left empty are kept.\n", fl.name)
	} else if !errors.Is(err, setup.ErrNoConnection) {
		return err
	}

	p := newPrompter(cmd.InOrStdin(), out)
	interactive := p.isTerminal() && !fl.nonInteractive && !explicit
	if interactive {
		fmt.Fprintln(out, "Set up the connection between Business Central and Dynamics 365 Sales.")
		fmt.Fprintln(out, "Press Enter to accept the value in [brackets]. Ctrl-C stops without saving.")
		for k, v := range answers { // only secrets from the environment here
			current[k] = v
		}
		if err := p.guide(d, current); err != nil {
			return err
		}
	} else {
		for k, v := range current {
			if _, given := answers[k]; !given {
				answers[k] = v
			}
		}
		if _, err := setup.Build(answers, d); err != nil {
			return fmt.Errorf("the setup has bad values (nothing was saved):\n%w", err)
		}
		if in := strings.TrimSpace(answers["crm.url"]); in != "" && in != d.Setup.CRM.URL {
			fmt.Fprintf(out, "CRM URL corrected to %s\n", d.Setup.CRM.URL)
		}
	}
	for _, k := range d.Ignored {
		fmt.Fprintf(out, "Note: %s does not apply to these settings and was not used.\n", k)
	}

	// Encryption at rest: ask before the first secret is stored.
	state, err := env.box.State(ctx)
	if err != nil {
		return err
	}
	if state == secret.StateUndecided {
		if interactive {
			encrypt, err = p.yesNo("Secrets are stored encrypted at rest (AES-256-GCM, key file in the data dir). Enable encryption now?", true)
			if err != nil {
				return err
			}
		}
		if encrypt {
			rep, err := env.box.Enable(ctx)
			if err != nil {
				return err
			}
			if rep.KeyCreated {
				fmt.Fprintf(out, "Encryption enabled; key file %s created (mode 0600): back it up.\n", env.box.KeyPath())
			}
		} else {
			if err := env.box.Decline(ctx); err != nil {
				return err
			}
			fmt.Fprintln(out, "WARNING: encryption declined: secrets are stored in clear text until you run `coupler encryption enable`.")
		}
	}
	if err := env.svc.Save(ctx, d); err != nil {
		return err
	}
	fmt.Fprintf(out, "Saved connection %q: CRM %s, ERP %s (company %s).\n", d.Setup.Name, d.Setup.CRM.URL, d.Setup.ERP.APIURL, d.Setup.ERP.CompanyID)
	return finishSetup(ctx, cmd, env, d, fl, p, interactive, defaultSetup, sandboxAdmin)
}

// finishSetup does the wizard's "Finish": import the solution, assign the
// roles, enable, then offer the default synchronisation setup.
func finishSetup(ctx context.Context, cmd *cobra.Command, env *setupEnv, d *setup.Draft, fl *setupFlags, p *prompter, interactive, defaultSetup bool, sandboxAdmin *setup.AdminCredentials) error {
	out := cmd.OutOrStdout()
	name := d.Setup.Name
	if d.Setup.CRM.ImportSolution {
		admin, err := adminCredentials(cmd, fl.adminUser, fl.adminPassword)
		if err != nil {
			return err
		}
		if admin == nil {
			admin = sandboxAdmin
		}
		if admin == nil && interactive {
			fmt.Fprint(out, "Import the solution as (a CRM System Administrator's user name, used once and not stored; empty: the integration user): ")
			u, err := p.readLine()
			if err != nil {
				return err
			}
			if u = strings.TrimSpace(u); u != "" {
				fmt.Fprintf(out, "Password of %s: ", u)
				pw, err := p.readSecret()
				if err != nil {
					return err
				}
				admin = &setup.AdminCredentials{User: u, Password: pw}
			}
		}
		if err := env.svc.ImportSolution(ctx, name, admin); err != nil {
			fmt.Fprintf(out, "Could not import the integration solution: %v\n", err)
		} else {
			fmt.Fprintf(out, "Imported the integration solution %s.\n", setup.SolutionUniqueName)
		}
	}
	as, err := env.svc.AssignRoles(ctx, name)
	printAssignments(out, as)
	if err != nil {
		fmt.Fprintf(out, "Could not assign the integration roles: %v\n", err)
	}
	if !d.Enable {
		fmt.Fprintln(out, "The connection is saved but not enabled: run `coupler connection enable` when ready.")
		return nil
	}
	list, err := env.svc.Enable(ctx, name)
	if len(list.Checks) > 0 {
		fmt.Fprint(out, list.String())
	}
	if err != nil {
		return &exitError{code: 2, err: fmt.Errorf("%w (the setup is saved: fix what the checklist says, then run `coupler connection enable`)", err)}
	}
	fmt.Fprintln(out, "The connection is enabled.")

	existing, err := env.st.ListMappings(ctx)
	if err != nil {
		return fmt.Errorf("read mappings: %w", err)
	}
	if len(existing) > 0 {
		fmt.Fprintf(out, "%d synchronisation mappings already exist; they are kept.\n", len(existing))
		return nil
	}
	if interactive {
		if defaultSetup, err = p.yesNo("No synchronisation is set up yet. Use the default synchronisation setup (table and field mappings with their schedules)?", true); err != nil {
			return err
		}
	}
	if !defaultSetup {
		fmt.Fprintln(out, "No synchronisation mappings were created; the connection is enabled but nothing is synchronised yet.")
		return nil
	}
	defs := mapping.Defaults()
	for _, m := range defs {
		if err := env.st.PutMapping(ctx, m); err != nil {
			return fmt.Errorf("save the default mapping %s: %w", m.Name, err)
		}
	}
	fmt.Fprintf(out, "Created the default synchronisation setup: %d mappings.\n", len(defs))
	return nil
}
