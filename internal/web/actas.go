package web

import (
	"context"
	"errors"

	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/users"
)

// actAs is the context of CRM writes made on the signed-in (or API) user's
// behalf: with "users must map to CRM users" on, it carries the mapped CRM
// user (the CRM records who did it) or fails with *users.NotMappedError,
// which statusOf answers 403 with its reason and fix.
func (h *Handler) actAs(ctx context.Context) (context.Context, error) {
	u, ok := currentUser(ctx)
	if !ok {
		u, ok = apiUser(ctx)
	}
	if !ok {
		return ctx, errors.New("no signed-in user on this request")
	}
	c, err := h.st.GetConnection(ctx, setup.DefaultName)
	if errors.Is(err, store.ErrNotFound) {
		return ctx, nil // nothing to act on; the caller reports the missing connection
	}
	if err != nil {
		return ctx, err
	}
	return users.ActAs(ctx, u, c.UsersMustMapToCRM)
}
