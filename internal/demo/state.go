package demo

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"time"

	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
	"github.com/coupler/coupler/internal/users"
)

// SettingRuns counts the demo runs a data dir has seen. Its presence also
// marks the data dir as the demo's, so that a real setup is never
// overwritten by the sandbox's.
const SettingRuns = "demo.runs"

// AdminEmail is the demo administrator's sign-in.
const AdminEmail = "admin@coupler.demo"

// ErrNotDemoDataDir is returned when the data dir holds a connection the demo
// did not create.
var ErrNotDemoDataDir = errors.New("the data dir holds a real connection")

// claimDataDir returns this run's number (1 on a fresh data dir) and records
// it. It refuses a data dir that holds a connection not made by the demo.
func claimDataDir(ctx context.Context, st store.Store, dataDir string) (int, error) {
	prev := 0
	v, err := st.GetSetting(ctx, SettingRuns)
	switch {
	case errors.Is(err, store.ErrNotFound) || (err == nil && v == ""):
		conns, err := st.ListConnections(ctx)
		if err != nil {
			return 0, fmt.Errorf("read the connections: %w", err)
		}
		if len(conns) > 0 {
			return 0, fmt.Errorf("%w (%q, CRM %s) that the demo would overwrite with the sandbox's: run the demo with --data-dir pointing at another directory (it is created when missing)",
				ErrNotDemoDataDir, conns[0].Name, conns[0].CRM.URL)
		}
	case err != nil:
		return 0, fmt.Errorf("read setting %s: %w", SettingRuns, err)
	default:
		if prev, err = strconv.Atoi(v); err != nil || prev < 0 {
			return 0, fmt.Errorf("setting %s of the data dir %s is %q, not a count of demo runs", SettingRuns, dataDir, v)
		}
	}
	run := prev + 1
	if err := st.PutSetting(ctx, SettingRuns, strconv.Itoa(run)); err != nil {
		return 0, fmt.Errorf("record the demo run: %w", err)
	}
	return run, nil
}

// resetCouplings forgets what couples records of the previous run's
// sandbox: its couplings, cursors and pending intents, and resolves its open
// errors. Jobs and errors stay as history. The sandbox holds its data in
// memory, so the records those couplings named no longer exist; keeping them
// would turn every one into a "deleted on the other side" failure.
func resetCouplings(ctx context.Context, st store.Store, now time.Time) (int, error) {
	ms, err := st.ListMappings(ctx)
	if err != nil {
		return 0, fmt.Errorf("read the mappings: %w", err)
	}
	n := 0
	err = st.InTx(ctx, func(ctx context.Context, tx store.Store) error {
		for _, m := range ms {
			cs, err := tx.ListCouplings(ctx, store.CouplingFilter{Mapping: m.Name})
			if err != nil {
				return err
			}
			for _, c := range cs {
				if err := tx.DeleteCoupling(ctx, m.Name, c.ERPID); err != nil {
					return err
				}
			}
			n += len(cs)
			es, err := tx.ListErrors(ctx, store.ErrorFilter{Mapping: m.Name, OpenOnly: true})
			if err != nil {
				return err
			}
			for _, e := range es {
				if e.ERPID == "" && e.CRMID == "" {
					continue // a whole-job error: nothing names a record
				}
				if err := tx.ResolveErrors(ctx, m.Name, e.ERPID, e.CRMID, now); err != nil {
					return err
				}
			}
			is, err := tx.ListIntents(ctx, m.Name)
			if err != nil {
				return err
			}
			ids := make([]int64, len(is))
			for i, in := range is {
				ids[i] = in.ID
			}
			if len(ids) > 0 {
				if err := tx.DeleteIntents(ctx, ids); err != nil {
					return err
				}
			}
			for _, side := range []string{syncer.SideERP, syncer.SideCRM} {
				if err := tx.PutCursor(ctx, syncer.Cursor{Mapping: m.Name, Side: side}); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("reset the previous demo's couplings: %w", err)
	}
	return n, nil
}

// ensureAdmin creates the demo administrator, or gives the existing one a
// new password: only hashes are stored, so a password cannot be shown again.
func ensureAdmin(ctx context.Context, st store.Store, log *slog.Logger) (string, string, error) {
	pw, err := newPassword()
	if err != nil {
		return "", "", err
	}
	_, err = users.NewService(st, log, users.KDF{}).Create(ctx, AdminEmail, "Demo administrator", users.RoleAdmin, pw)
	if err == nil {
		return AdminEmail, pw, nil
	}
	if !errors.Is(err, store.ErrConflict) {
		return "", "", fmt.Errorf("create the demo administrator: %w", err)
	}
	u, err := st.GetUserByEmail(ctx, AdminEmail)
	if err != nil {
		return "", "", fmt.Errorf("read the demo administrator: %w", err)
	}
	hash, err := users.DefaultKDF.Hash(pw)
	if err != nil {
		return "", "", err
	}
	u.PasswordHash, u.Role, u.Disabled, u.UpdatedAt = hash, users.RoleAdmin, false, time.Now().UTC()
	if err := st.UpdateUser(ctx, u); err != nil {
		return "", "", fmt.Errorf("set the demo administrator's new password: %w", err)
	}
	return AdminEmail, pw, nil
}

// newPassword is 18 random bytes, base64url: 24 characters, 144 bits.
func newPassword() (string, error) {
	b := make([]byte, 18)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate a password: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
