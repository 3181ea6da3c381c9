package demo

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/sandbox"
)

// The demo's one deliberately invalid record: a real ERP contact that
// Business Central accepts (its name fits the 100 characters of
// displayName) but Dataverse refuses, because the surname coupler derives
// from it is longer than contact.lastname's 50 characters. It is the kind
// of record that fails in real integrations, refused by the CRM's own
// validation, not a faked count.
const (
	invalidFirstName = "Hubert"
	invalidSurname   = "Wolfeschlegelsteinhausenbergerdorff-Welchevoralternwaren"
	invalidEmail     = "hubert.wolfeschlegelstein@contoso.com"
	fixedName        = "Hubert Wolfeschlegelstein"
)

// invalidRecord is the planted contact, for the summary's fix instructions.
type invalidRecord struct {
	ID, Number, Name, Surname string
	ERPBase                   string // scheme://host:port of the ERP simulator
}

// plantInvalidContact creates the contact through the Business Central API
// (as an ERP user entering it would), unless the demo data already has it.
func plantInvalidContact(ctx context.Context, r sandbox.Ready, log *slog.Logger) (invalidRecord, error) {
	name := invalidFirstName + " " + invalidSurname
	rec := invalidRecord{Name: name, Surname: invalidSurname}
	u, err := url.Parse(r.ERPURL)
	if err != nil {
		return rec, fmt.Errorf("sandbox erp_url %q: %w", r.ERPURL, err)
	}
	rec.ERPBase = u.Scheme + "://" + u.Host
	c, err := bc.New(bc.Config{APIURL: r.ERPURL, CompanyID: r.ERPCompanyID, Logger: log,
		OAuth: &bc.OAuth{ClientID: r.ERPClientID, ClientSecret: r.ERPClientSecret, TokenURL: r.TokenURL, Scopes: []string{r.ERPScope}}})
	if err != nil {
		return rec, err
	}
	var found []json.RawMessage
	err = c.List(ctx, bc.SetContacts, bc.Query{Filter: "displayName eq '" + strings.ReplaceAll(name, "'", "''") + "'"}, func(page []json.RawMessage) error {
		found = append(found, page...)
		return nil
	})
	if err != nil {
		return rec, fmt.Errorf("look for the demo's invalid contact in the sandbox ERP: %w", err)
	}
	raw := json.RawMessage(nil)
	if len(found) > 0 {
		raw = found[0]
	} else {
		raw, err = c.Create(ctx, bc.SetContacts, map[string]any{
			"type": "Person", "displayName": name, "jobTitle": "Purchasing Manager",
			"email": invalidEmail, "city": "Cambridge", "country": "GB",
		})
		if err != nil {
			return rec, fmt.Errorf("create the demo's invalid contact in the sandbox ERP: %w", err)
		}
	}
	var v struct {
		ID     string `json:"id"`
		Number string `json:"number"`
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return rec, fmt.Errorf("read the demo's invalid contact: %w", err)
	}
	rec.ID, rec.Number = v.ID, v.Number
	return rec, nil
}

// fix says how to repair the planted record while the demo runs.
func (r invalidRecord) fix(dataDirFlag string) string {
	body, _ := json.Marshal(map[string]string{"displayName": fixedName})
	return fmt.Sprintf("shorten the contact's name in the ERP, as a user would (while `coupler demo` runs, without --once):\n"+
		"curl -X PATCH %s/_sandbox/contacts/%s -H 'Content-Type: application/json' -d '%s'\n"+
		"then synchronise it again (a record never created in the CRM is created by a full run): coupler sync run --full CONTACT%s", r.ERPBase, r.Number, body, dataDirFlag)
}
