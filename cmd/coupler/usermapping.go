package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/users"
)

// userMappingView is the "current user is mapped" part of connection show.
type userMappingView struct {
	Users             int    `json:"users"`
	Mapped            int    `json:"mapped"`
	CurrentUser       string `json:"current_user,omitempty"`
	CurrentUserMapped string `json:"current_user_mapped,omitempty"` // yes (…), no: reason, or not required
}

func userMapping(ctx context.Context, env *setupEnv, c setup.ConnectionSetup, email string) (userMappingView, error) {
	var v userMappingView
	list, err := env.st.ListUsers(ctx)
	if err != nil {
		return v, fmt.Errorf("list users: %w", err)
	}
	for _, u := range list {
		if u.Disabled {
			continue
		}
		v.Users++
		if u.CRMUserID != "" {
			v.Mapped++
		}
	}
	if email == "" {
		return v, nil
	}
	v.CurrentUser = email
	u, err := env.st.GetUserByEmail(ctx, email)
	if errors.Is(err, store.ErrNotFound) {
		v.CurrentUserMapped = "no: there is no coupler user " + email + " (see `coupler users list`)"
		return v, nil
	}
	if err != nil {
		return v, fmt.Errorf("read user %s: %w", email, err)
	}
	_, err = users.ActAs(ctx, u, c.UsersMustMapToCRM)
	var nm *users.NotMappedError
	switch {
	case errors.As(err, &nm):
		v.CurrentUserMapped = "no: " + nm.Reason + "; " + nm.Fix
	case err != nil:
		return v, err
	case !c.UsersMustMapToCRM && u.CRMUserID == "":
		v.CurrentUserMapped = "not required: CRM calls go as the integration user"
	case !c.UsersMustMapToCRM:
		v.CurrentUserMapped = "yes (CRM user " + u.CRMUserID + "), not required: CRM calls go as the integration user"
	default:
		v.CurrentUserMapped = "yes: CRM calls are made as CRM user " + u.CRMUserID
	}
	return v, nil
}
