package web

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/setup"
)

// setupView is the assisted setup form: the same fields, in the same steps
// and with the same validation as `coupler setup`.
type setupView struct {
	Steps      []setupStep
	Errors     map[string]string // field key → message shown next to it
	Other      []string          // errors not tied to a shown field
	AskEncrypt bool              // encryption at rest not decided yet
	Log        []string          // what Finish did
	Checklist  *setup.Checklist
}

type setupStep struct {
	Name   string
	Title  string
	Fields []setupField
}

type setupField struct {
	setup.Field
	ID, Value, Error string
	IsSet            bool // secret already stored
}

var stepTitles = map[string]string{
	"CRM":      "1. Dynamics 365 Sales URL and credentials",
	"ERP":      "2. Business Central",
	"Advanced": "3. Advanced settings",
}

func (h *Handler) buildSetupView(r *http.Request, answers setup.Answers, errs map[string]string) (setupView, error) {
	ctx := r.Context()
	existing, err := h.setup.ExistingSecrets(ctx, setup.DefaultName)
	if err != nil {
		return setupView{}, err
	}
	v := setupView{Errors: errs}
	if answers == nil {
		answers = setup.Answers{}
		if c, err := h.setup.Load(ctx, setup.DefaultName); err == nil {
			answers = setup.AnswersFrom(c)
		}
	}
	idx := map[string]int{}
	for _, f := range setup.Fields() {
		i, ok := idx[f.Step]
		if !ok {
			i = len(v.Steps)
			idx[f.Step] = i
			v.Steps = append(v.Steps, setupStep{Name: f.Step, Title: stepTitles[f.Step]})
		}
		sf := setupField{Field: f, ID: "f-" + strings.ReplaceAll(f.Key, ".", "-"), Error: errs[f.Key]}
		if f.Secret {
			sf.IsSet = existing[f.SecretName]
		} else {
			sf.Value = answers[f.Key]
			if sf.Value == "" && f.Bool && f.Default != nil {
				sf.Value = f.Default(setup.NewDraft("", h.publicURL, nil))
			}
		}
		v.Steps[i].Fields = append(v.Steps[i].Fields, sf)
	}
	if h.box != nil {
		st, err := h.box.State(ctx)
		if err != nil {
			return v, err
		}
		v.AskEncrypt = st == secret.StateUndecided
	}
	return v, nil
}

func (h *Handler) setupForm(w http.ResponseWriter, r *http.Request) {
	v, err := h.buildSetupView(r, nil, nil)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	h.view(w, r, "setup", pageData{Title: "Assisted setup", NavActive: "connection", Data: v})
}

// setupSubmit validates every answer, saves, imports the solution, assigns
// the roles, enables when asked and offers the default mappings: the
// assisted setup's Finish.
func (h *Handler) setupSubmit(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	if err := r.ParseForm(); err != nil {
		h.fail(w, r, http.StatusBadRequest, "the form could not be read: "+err.Error())
		return
	}
	answers := setup.Answers{}
	for _, f := range setup.Fields() {
		if vals, ok := r.PostForm[f.Key]; ok {
			answers[f.Key] = strings.Join(vals, "")
		}
	}
	again := func(errs map[string]string, other []string) {
		v, err := h.buildSetupView(r, answers, errs)
		if err != nil {
			h.fail(w, r, http.StatusInternalServerError, err.Error())
			return
		}
		v.Other = other
		w.WriteHeader(http.StatusUnprocessableEntity)
		h.view(w, r, "setup", pageData{Title: "Assisted setup", NavActive: "connection", Data: v})
	}
	existing, err := h.setup.ExistingSecrets(ctx, setup.DefaultName)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	d := setup.NewDraft(setup.DefaultName, h.publicURLOr(r), existing)
	if _, err := setup.Build(answers, d); err != nil {
		errs, other := fieldErrors(err)
		again(errs, other)
		return
	}
	var log []string
	st, err := h.box.State(ctx)
	if err != nil {
		h.fail(w, r, http.StatusInternalServerError, err.Error())
		return
	}
	if st == secret.StateUndecided {
		if r.PostFormValue("encrypt") == "yes" {
			rep, err := h.box.Enable(ctx)
			if err != nil {
				again(nil, []string{"enable encryption: " + err.Error()})
				return
			}
			log = append(log, "Encryption at rest enabled.")
			if rep.KeyCreated {
				log = append(log, "Key file created at "+h.box.KeyPath()+": back it up.")
			}
		} else {
			if err := h.box.Decline(ctx); err != nil {
				again(nil, []string{err.Error()})
				return
			}
			log = append(log, "WARNING: encryption declined: secrets are stored in clear text until encryption is enabled.")
		}
	}
	if err := h.setup.Save(ctx, d); err != nil {
		errs, other := fieldErrors(err)
		again(errs, other)
		return
	}
	c := d.Setup
	log = append(log, fmt.Sprintf("Saved connection %q: CRM %s, ERP %s (company %s).", c.Name, c.CRM.URL, c.ERP.APIURL, c.ERP.CompanyID))
	if c.CRM.ImportSolution {
		var admin *setup.AdminCredentials
		if u := strings.TrimSpace(r.PostFormValue("admin-user")); u != "" {
			admin = &setup.AdminCredentials{User: u, Password: r.PostFormValue("admin-password")}
		}
		if err := h.setup.ImportSolution(ctx, c.Name, admin); err != nil {
			log = append(log, "Could not import the integration solution: "+err.Error())
		} else {
			log = append(log, "Imported the integration solution "+setup.SolutionUniqueName+".")
		}
	}
	as, err := h.setup.AssignRoles(ctx, c.Name)
	for _, a := range as {
		verb := "already held"
		if a.Added {
			verb = "assigned"
		}
		log = append(log, fmt.Sprintf("Role %s: %s.", a.Role, verb))
	}
	if err != nil {
		log = append(log, "Could not assign the integration roles: "+err.Error())
	}
	v := setupView{Log: log}
	if d.Enable {
		list, err := h.setup.Enable(ctx, c.Name)
		v.Checklist = &list
		if err != nil {
			v.Log = append(v.Log, "Not enabled: "+err.Error()+". Fix what the checklist says, then enable on the connection page.")
		} else {
			v.Log = append(v.Log, "The connection is enabled.")
		}
	} else {
		v.Log = append(v.Log, "Saved but not enabled: enable it on the connection page when ready.")
	}
	if r.PostFormValue("default-setup") == "yes" {
		msg, err := h.defaultMappingsIfNone(r)
		if err != nil {
			v.Log = append(v.Log, "Default synchronisation setup failed: "+err.Error())
		} else {
			v.Log = append(v.Log, msg)
		}
	}
	h.view(w, r, "setup", pageData{Title: "Assisted setup", NavActive: "connection", Flash: "Setup finished.", Data: v})
}

func (h *Handler) defaultMappingsIfNone(r *http.Request) (string, error) {
	ms, err := h.st.ListMappings(r.Context())
	if err != nil {
		return "", err
	}
	if len(ms) > 0 {
		return fmt.Sprintf("%d synchronisation mappings already exist; they are kept.", len(ms)), nil
	}
	now := time.Now().UTC()
	for _, m := range mapping.Defaults() {
		m.UpdatedAt = now
		if err := h.st.PutMapping(r.Context(), m); err != nil {
			return "", err
		}
	}
	return fmt.Sprintf("Created the default synchronisation setup: %d mappings.", len(mapping.Defaults())), nil
}

func (h *Handler) publicURLOr(r *http.Request) string {
	if h.publicURL != "" {
		return h.publicURL
	}
	return "http://" + r.Host
}

// fieldErrors splits a validation error into messages per field key and
// the rest.
func fieldErrors(err error) (map[string]string, []string) {
	out := map[string]string{}
	var other []string
	var list []error
	if fe, ok := err.(setup.FieldErrors); ok {
		list = fe
	} else {
		list = []error{err}
	}
	for _, e := range list {
		var fe *setup.FieldError
		if errors.As(e, &fe) {
			msg := fe.Problem
			if fe.Value != "" {
				msg = fmt.Sprintf("%q %s", fe.Value, fe.Problem)
			}
			if fe.Fix != "" {
				msg += "; " + fe.Fix
			}
			out[fe.Field] = msg
			continue
		}
		other = append(other, e.Error())
	}
	return out, other
}
