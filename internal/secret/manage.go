package secret

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"sort"

	"github.com/coupler/coupler/internal/store"
)

// Report says what Enable or Rotate did.
type Report struct {
	KeyID       string // the key everything is now encrypted with
	KeySource   string
	KeyCreated  bool // a new key file was written
	Reencrypted int  // secrets (re-)encrypted by this run
	Secrets     int  // secrets stored
}

// Status is what `coupler encryption status` and every other status
// command show about encryption.
type Status struct {
	State        State
	KeySource    string   // "" when no key exists
	CurrentKeyID string   // "" when no key exists
	KeyIDs       []string // every key that can decrypt
	Secrets      int
	Plaintext    int // stored in clear
	UnderOldKeys int // encrypted with a key other than the current one
	Warning      string
}

// Enable turns encryption on: creates the key file when no key is
// configured, records the choice, then encrypts every secret stored in
// clear. Running it again finishes an interrupted run.
func (b *Box) Enable(ctx context.Context) (Report, error) {
	var rep Report
	r, err := b.loadRing(true)
	if errors.Is(err, ErrNoKey) {
		k, gerr := generateKey()
		if gerr != nil {
			return rep, gerr
		}
		if err := writeKeyFile(b.keyPath, k, nil); err != nil {
			return rep, err
		}
		rep.KeyCreated = true
		b.log.Info("encryption key created", "path", b.keyPath, "key_id", k.id)
		r, err = b.loadRing(true)
	}
	if err != nil {
		return rep, err
	}
	rep.KeyID, rep.KeySource = r.current.id, r.source
	if err := b.st.PutSetting(ctx, SettingState, string(StateEnabled)); err != nil {
		return rep, fmt.Errorf("save encryption state: %w", err)
	}
	n, total, err := b.reencrypt(ctx, func(s store.Secret) bool { return !s.Encrypted })
	rep.Reencrypted, rep.Secrets = n, total
	if err != nil {
		return rep, err
	}
	b.log.Info("encryption enabled", "key_id", r.current.id, "encrypted", n)
	return rep, nil
}

// Rotate re-encrypts every secret under a new current key without
// stopping anything: with the key file, a new key is written first in line
// with the old ones kept (other instances reload the file and can read
// both), every secret is re-encrypted row by row, and only then are the
// old keys dropped. With keys from the environment, put the new key in
// COUPLER_ENCRYPTION_KEY and the old one in COUPLER_ENCRYPTION_OLD_KEYS,
// then rotate to re-encrypt under the new key.
func (b *Box) Rotate(ctx context.Context) (Report, error) {
	var rep Report
	state, err := b.State(ctx)
	if err != nil {
		return rep, err
	}
	if state != StateEnabled {
		return rep, errors.New("encryption is not enabled: run `coupler encryption enable` first")
	}
	r, err := b.loadRing(true)
	if err != nil {
		return rep, b.missingKey(err)
	}
	_, hasEnv, _ := envRing(b.getenv)
	fileOnly := !hasEnv
	if fileOnly {
		k, err := generateKey()
		if err != nil {
			return rep, err
		}
		old := make([]key, 0, len(r.all))
		for _, id := range r.ids() {
			old = append(old, r.all[id])
		}
		if err := writeKeyFile(b.keyPath, k, old); err != nil {
			return rep, err
		}
		rep.KeyCreated = true
		if r, err = b.loadRing(true); err != nil {
			return rep, err
		}
	}
	rep.KeyID, rep.KeySource = r.current.id, r.source
	cur := r.current.id
	// Repeat while rows under old keys remain: an instance that had not yet
	// reloaded the file may have written one meanwhile. Bounded.
	for pass := 0; pass < 5; pass++ {
		n, total, err := b.reencrypt(ctx, func(s store.Secret) bool { return !s.Encrypted || s.KeyID != cur })
		rep.Reencrypted += n
		rep.Secrets = total
		if err != nil {
			return rep, err
		}
		if n == 0 {
			break
		}
	}
	st, err := b.Status(ctx)
	if err != nil {
		return rep, err
	}
	if st.UnderOldKeys > 0 || st.Plaintext > 0 {
		return rep, fmt.Errorf("rotation incomplete: %d secrets still use an old key; run `coupler encryption rotate` again (old keys are kept until then)", st.UnderOldKeys+st.Plaintext)
	}
	if fileOnly {
		if err := writeKeyFile(b.keyPath, r.current, nil); err != nil {
			return rep, err
		}
		if _, err := b.loadRing(true); err != nil {
			return rep, err
		}
	}
	b.log.Info("encryption key rotated", "key_id", cur, "reencrypted", rep.Reencrypted)
	return rep, nil
}

// reencrypt decrypts and re-encrypts, under the current key, each secret
// that want selects, one row at a time.
func (b *Box) reencrypt(ctx context.Context, want func(store.Secret) bool) (changed, total int, err error) {
	r, err := b.loadRing(false)
	if err != nil {
		return 0, 0, b.missingKey(err)
	}
	all, err := b.st.ListSecrets(ctx)
	if err != nil {
		return 0, 0, fmt.Errorf("list secrets: %w", err)
	}
	for _, s := range all {
		if !want(s) {
			continue
		}
		plain, err := b.decrypt(s)
		if err != nil {
			return changed, len(all), err
		}
		ct, err := seal(r.current, s.Owner, s.Name, plain)
		if err != nil {
			return changed, len(all), err
		}
		listed := s
		s.Value, s.Encrypted, s.KeyID, s.UpdatedAt = ct, true, r.current.id, b.now()
		wrote, err := b.replace(ctx, listed, s)
		if err != nil {
			return changed, len(all), fmt.Errorf("save secret %s/%s: %w", s.Owner, s.Name, err)
		}
		if wrote {
			changed++
		}
	}
	return changed, len(all), nil
}

// txStore is the store's transaction, when it has one (store.Store does).
type txStore interface {
	InTx(ctx context.Context, fn func(ctx context.Context, tx store.Store) error) error
}

// replace writes next only if the row still holds what was listed, so a
// rotation never reverts a secret another instance changed meanwhile (that
// newer row is already under a current key, or the next pass takes it).
func (b *Box) replace(ctx context.Context, listed, next store.Secret) (bool, error) {
	same := func(cur store.Secret) bool {
		return cur.KeyID == listed.KeyID && cur.Encrypted == listed.Encrypted && bytes.Equal(cur.Value, listed.Value)
	}
	tx, ok := b.st.(txStore)
	if !ok {
		cur, err := b.st.GetSecret(ctx, listed.Owner, listed.Name)
		if err != nil || !same(cur) {
			return false, ignoreNotFound(err)
		}
		return true, b.st.PutSecret(ctx, next)
	}
	wrote := false
	err := tx.InTx(ctx, func(ctx context.Context, t store.Store) error {
		cur, err := t.GetSecret(ctx, listed.Owner, listed.Name)
		if err != nil || !same(cur) {
			return ignoreNotFound(err)
		}
		wrote = true
		return t.PutSecret(ctx, next)
	})
	return wrote, err
}

func ignoreNotFound(err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	return err
}

// Status reports the state, the keys and how secrets are stored.
func (b *Box) Status(ctx context.Context) (Status, error) {
	var st Status
	state, err := b.State(ctx)
	if err != nil {
		return st, err
	}
	st.State = state
	r, err := b.loadRing(false)
	if err != nil && !errors.Is(err, ErrNoKey) && !errors.Is(err, os.ErrNotExist) {
		return st, err
	}
	if r != nil {
		st.KeySource, st.CurrentKeyID, st.KeyIDs = r.source, r.current.id, r.ids()
		sort.Strings(st.KeyIDs[1:])
	}
	all, err := b.st.ListSecrets(ctx)
	if err != nil {
		return st, fmt.Errorf("list secrets: %w", err)
	}
	st.Secrets = len(all)
	for _, s := range all {
		switch {
		case !s.Encrypted:
			st.Plaintext++
		case r == nil || s.KeyID != r.current.id:
			st.UnderOldKeys++
		}
	}
	st.Warning = warning(st, b.keyPath)
	return st, nil
}

func warning(st Status, keyPath string) string {
	switch {
	case st.State == StateEnabled && st.KeySource == "":
		return fmt.Sprintf("WARNING: encryption is enabled but no key was found at %s nor in %s: secrets cannot be read until the key is restored", keyPath, EnvKey)
	case st.Plaintext > 0:
		return fmt.Sprintf("WARNING: %d secret(s) are stored in clear text: run `coupler encryption enable` to encrypt them", st.Plaintext)
	case st.State == StateDeclined:
		return "WARNING: encryption at rest was declined: secrets saved from now on are stored in clear text; run `coupler encryption enable`"
	case st.State == StateUndecided:
		return "encryption at rest is not enabled yet: run `coupler encryption enable` before saving secrets"
	}
	return ""
}
