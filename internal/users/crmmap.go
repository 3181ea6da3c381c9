package users

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/odata"
)

// CRMUser is a Dataverse systemuser as far as mapping needs it.
type CRMUser struct {
	ID       string // systemuserid
	Email    string // internalemailaddress (the primary e-mail)
	FullName string
	Disabled bool
}

// Directory finds CRM users by primary e-mail. CRMDirectory is the real one.
type Directory interface {
	FindCRMUsers(ctx context.Context, email string) ([]CRMUser, error)
}

// CRMDirectory reads systemusers through the integration user's client.
type CRMDirectory struct{ Client *dataverse.Client }

// FindCRMUsers returns every systemuser whose internalemailaddress is email
// (Dataverse compares strings case-insensitively; so do we, to be sure).
func (d CRMDirectory) FindCRMUsers(ctx context.Context, email string) ([]CRMUser, error) {
	lit, err := odata.Literal(email)
	if err != nil {
		return nil, fmt.Errorf("find the CRM user with e-mail %s: %w", email, err)
	}
	q := dataverse.Query{
		Select: []string{"systemuserid", "internalemailaddress", "fullname", "isdisabled"},
		Filter: "internalemailaddress eq " + lit,
	}
	var out []CRMUser
	for rec, err := range d.Client.All(ctx, "systemusers", q) {
		if err != nil {
			return nil, fmt.Errorf("find the CRM user with e-mail %s: %w", email, err)
		}
		u := CRMUser{ID: strings.ToLower(rec.String("systemuserid")), Email: rec.String("internalemailaddress"), FullName: rec.String("fullname")}
		u.Disabled, _ = rec["isdisabled"].(bool)
		if strings.EqualFold(strings.TrimSpace(u.Email), email) {
			out = append(out, u)
		}
	}
	return out, nil
}

// ErrNotMapped is matched (errors.Is) by every *NotMappedError.
var ErrNotMapped = errors.New("not mapped to a CRM user")

// NotMappedError says why a user may not write to the CRM and how to fix
// it. Such a user keeps read access.
type NotMappedError struct {
	Email  string
	Reason string
	Fix    string
}

func (e *NotMappedError) Error() string {
	return fmt.Sprintf("user %s cannot make changes in the CRM: %s; %s", e.Email, e.Reason, e.Fix)
}

// Is makes errors.Is(err, ErrNotMapped) true.
func (e *NotMappedError) Is(target error) bool { return target == ErrNotMapped }

// match picks the one enabled CRM user among candidates, or says why not.
func match(email string, found []CRMUser) (CRMUser, *NotMappedError) {
	var enabled []CRMUser
	for _, u := range found {
		if !u.Disabled {
			enabled = append(enabled, u)
		}
	}
	switch {
	case len(enabled) == 1:
		return enabled[0], nil
	case len(enabled) > 1:
		ids := make([]string, len(enabled))
		for i, u := range enabled {
			ids[i] = u.ID
		}
		return CRMUser{}, &NotMappedError{Email: email,
			Reason: fmt.Sprintf("%d enabled CRM users have the primary e-mail %s (%s)", len(enabled), email, strings.Join(ids, ", ")),
			Fix:    "give each CRM user its own primary e-mail, then run `coupler users map`"}
	case len(found) > 0:
		return CRMUser{}, &NotMappedError{Email: email,
			Reason: "the CRM user with the primary e-mail " + email + " is disabled",
			Fix:    "enable that user in the CRM (Settings > Security > Users), then run `coupler users map`"}
	}
	return CRMUser{}, &NotMappedError{Email: email,
		Reason: "no CRM user has the primary e-mail " + email,
		Fix:    "create the user in the CRM with that primary e-mail (or change this user's e-mail to the CRM one), then run `coupler users map`"}
}

// Mapping is the outcome of mapping one user.
type Mapping struct {
	User    User
	CRMUser CRMUser         // zero when unmapped
	Problem *NotMappedError // nil when mapped
	Changed bool            // the stored CRMUserID changed
}

// Resolve matches one user to an enabled CRM user by e-mail and stores the
// result (CRMUserID set, or cleared when the match is gone).
func (s *Service) Resolve(ctx context.Context, dir Directory, u User) (Mapping, error) {
	found, err := dir.FindCRMUsers(ctx, strings.ToLower(u.Email))
	if err != nil {
		return Mapping{User: u}, err
	}
	crm, problem := match(u.Email, found)
	m := Mapping{User: u, CRMUser: crm, Problem: problem}
	if crm.ID != u.CRMUserID {
		m.User.CRMUserID, m.User.UpdatedAt, m.Changed = crm.ID, s.now().UTC(), true
		if err := s.store.UpdateUser(ctx, m.User); err != nil {
			return m, fmt.Errorf("save the CRM mapping of %s: %w", u.Email, err)
		}
		s.log.InfoContext(ctx, "user mapping changed", "email", u.Email, "crm_user_id", crm.ID)
	}
	return m, nil
}

// MapAll resolves every enabled user; a CRM that cannot be read stops it.
func (s *Service) MapAll(ctx context.Context, dir Directory) ([]Mapping, error) {
	list, err := s.store.ListUsers(ctx)
	if err != nil {
		return nil, fmt.Errorf("list users: %w", err)
	}
	out := make([]Mapping, 0, len(list))
	for _, u := range list {
		if u.Disabled {
			continue
		}
		m, err := s.Resolve(ctx, dir, u)
		if err != nil {
			return out, err
		}
		out = append(out, m)
	}
	return out, nil
}

// ActAs returns the context every CRM call made on u's behalf must use.
// With mustMap ("ERP users must map to CRM users") off, calls go as the
// integration user and ctx is returned unchanged. With it on, the calls
// impersonate u's CRM user, so the CRM records who made the change; an
// unmapped user gets a *NotMappedError with the reason and the fix.
func ActAs(ctx context.Context, u User, mustMap bool) (context.Context, error) {
	if !mustMap {
		return ctx, nil
	}
	if u.Disabled {
		return ctx, &NotMappedError{Email: u.Email, Reason: "the account is disabled", Fix: "ask an administrator to enable it"}
	}
	if u.CRMUserID == "" {
		return ctx, &NotMappedError{Email: u.Email,
			Reason: "the connection requires coupler users to map to CRM users and no CRM user is mapped to " + u.Email,
			Fix:    "create or enable a CRM user whose primary e-mail is " + u.Email + ", then run `coupler users map` (or turn off \"users must map to CRM users\")"}
	}
	return dataverse.WithCaller(ctx, dataverse.Caller{SystemUserID: u.CRMUserID}), nil
}
