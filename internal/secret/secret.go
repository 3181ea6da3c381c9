// Package secret keeps passwords, client secrets and access keys encrypted
// at rest: AES-256-GCM with a random nonce and the secret's owner and name
// as additional data (so a ciphertext copied to another row does not
// decrypt), under a key from the data dir's key file or the environment.
// Keys carry ids so that a rotation re-encrypts row by row while every
// instance keeps reading. Values never appear in logs or errors.
package secret

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/store"
)

// Store is the part of the store this package uses.
type Store interface {
	GetSetting(ctx context.Context, key string) (string, error)
	PutSetting(ctx context.Context, key, value string) error
	GetSecret(ctx context.Context, owner, name string) (store.Secret, error)
	PutSecret(ctx context.Context, s store.Secret) error
	ListSecrets(ctx context.Context) ([]store.Secret, error)
}

// SettingState is the settings key that records the user's choice.
const SettingState = "encryption.state"

// State is what the user chose about encryption at rest.
type State string

const (
	StateUndecided State = ""         // never asked: a secret cannot be saved yet
	StateEnabled   State = "enabled"  // every secret is stored encrypted
	StateDeclined  State = "declined" // the user said no: secrets stored in clear, with a warning
)

// Errors checked with errors.Is.
var (
	// ErrUndecided: encryption is off and the user has not declined it;
	// ask them (default yes) and call Enable or Decline, then save again.
	ErrUndecided = errors.New("encryption at rest is not enabled yet: enable it (`coupler encryption enable`) or explicitly decline it before saving a secret")
	// ErrNotSet: no such secret is stored.
	ErrNotSet = errors.New("secret not set")
)

// Options configure a Box.
type Options struct {
	Store   Store
	DataDir string              // where the key file lives
	Getenv  func(string) string // default os.Getenv
	Logger  *slog.Logger
	Clock   func() time.Time
}

// Box encrypts and decrypts secrets in the store.
type Box struct {
	st      Store
	keyPath string
	getenv  func(string) string
	log     *slog.Logger
	now     func() time.Time

	mu   sync.Mutex
	ring *ring // nil until a key exists
}

// New returns a Box; it reads the key lazily, so a missing key is only an
// error when something needs encrypting or decrypting.
func New(opts Options) (*Box, error) {
	if opts.Store == nil {
		return nil, errors.New("secret: Options.Store is required")
	}
	if opts.DataDir == "" {
		return nil, errors.New("secret: Options.DataDir is required (the key file lives there)")
	}
	b := &Box{
		st:      opts.Store,
		keyPath: filepath.Join(opts.DataDir, KeyFileName),
		getenv:  opts.Getenv,
		log:     opts.Logger,
		now:     opts.Clock,
	}
	if b.getenv == nil {
		b.getenv = os.Getenv
	}
	if b.log == nil {
		b.log = slog.New(slog.DiscardHandler)
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b, nil
}

// KeyPath is where the key file is (or would be created).
func (b *Box) KeyPath() string { return b.keyPath }

// State reads the user's choice.
func (b *Box) State(ctx context.Context) (State, error) {
	v, err := b.st.GetSetting(ctx, SettingState)
	if errors.Is(err, store.ErrNotFound) {
		return StateUndecided, nil
	}
	if err != nil {
		return "", fmt.Errorf("read encryption state: %w", err)
	}
	return State(v), nil
}

// loadRing (re)reads keys: the environment's first, the key file's kept for
// decryption (so moving from the file to the environment works). It
// re-reads the file when it changed, which is how a rotation run by another
// instance reaches this one.
func (b *Box) loadRing(force bool) (*ring, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.ring != nil && !force {
		fi, err := os.Stat(b.keyPath)
		if err != nil || fi.ModTime().Equal(b.ring.modTime) {
			return b.ring, nil
		}
	}
	env, hasEnv, err := envRing(b.getenv)
	if err != nil {
		return nil, err
	}
	file, ferr := readKeyFile(b.keyPath)
	if ferr != nil && !errors.Is(ferr, os.ErrNotExist) {
		return nil, ferr
	}
	switch {
	case hasEnv:
		if file != nil {
			for id, k := range file.all {
				if _, ok := env.all[id]; !ok {
					env.all[id] = k
				}
			}
			env.modTime = file.modTime
		}
		b.ring = env
	case file != nil:
		b.ring = file
	default:
		b.ring = nil
		return nil, ErrNoKey
	}
	return b.ring, nil
}

func aad(owner, name string) []byte {
	return []byte("coupler secret\x00" + owner + "\x00" + name)
}

func seal(k key, owner, name string, plain []byte) ([]byte, error) {
	block, err := aes.NewCipher(k.raw)
	if err != nil {
		return nil, fmt.Errorf("cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cipher: %w", err)
	}
	nonce := make([]byte, gcm.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return gcm.Seal(nonce, nonce, plain, aad(owner, name)), nil
}

func open(k key, owner, name string, data []byte) ([]byte, error) {
	block, err := aes.NewCipher(k.raw)
	if err != nil {
		return nil, fmt.Errorf("cipher: %w", err)
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("cipher: %w", err)
	}
	if len(data) < gcm.NonceSize()+gcm.Overhead() {
		return nil, fmt.Errorf("secret %s/%s: stored value is too short to be a ciphertext", owner, name)
	}
	plain, err := gcm.Open(nil, data[:gcm.NonceSize()], data[gcm.NonceSize():], aad(owner, name))
	if err != nil {
		return nil, fmt.Errorf("secret %s/%s does not decrypt with key %s: it was altered or moved from another row", owner, name, k.id)
	}
	return plain, nil
}

// Put saves a secret: encrypted when encryption is enabled, in clear only
// when the user declined encryption, otherwise ErrUndecided.
func (b *Box) Put(ctx context.Context, owner, name, value string) error {
	state, err := b.State(ctx)
	if err != nil {
		return err
	}
	switch state {
	case StateEnabled:
		// A rotation by another instance may retire the key between the
		// moment it is read and the moment the row lands; reading the keys
		// again after the write and redoing it under the new key closes
		// that window (bounded: rotations are rare).
		for attempt := 0; attempt < 5; attempt++ {
			r, err := b.loadRing(attempt > 0)
			if err != nil {
				return b.missingKey(err)
			}
			ct, err := seal(r.current, owner, name, []byte(value))
			if err != nil {
				return err
			}
			if err := b.st.PutSecret(ctx, store.Secret{Owner: owner, Name: name, Value: ct, Encrypted: true, KeyID: r.current.id, UpdatedAt: b.now()}); err != nil {
				return fmt.Errorf("save secret %s/%s: %w", owner, name, err)
			}
			fresh, err := b.loadRing(true)
			if err != nil {
				return b.missingKey(err)
			}
			if fresh.current.id == r.current.id {
				return nil
			}
		}
		return fmt.Errorf("save secret %s/%s: the encryption key kept changing while saving (several rotations at once?); save it again", owner, name)
	case StateDeclined:
		b.log.Warn("secret stored in clear text because encryption was declined; run `coupler encryption enable`", "owner", owner, "name", name)
		if err := b.st.PutSecret(ctx, store.Secret{Owner: owner, Name: name, Value: []byte(value), UpdatedAt: b.now()}); err != nil {
			return fmt.Errorf("save secret %s/%s: %w", owner, name, err)
		}
		return nil
	default:
		return ErrUndecided
	}
}

func (b *Box) missingKey(err error) error {
	if errors.Is(err, ErrNoKey) {
		return fmt.Errorf("encryption is enabled but no key was found at %s nor in %s: restore the key file from a backup or set the variable: %w", b.keyPath, EnvKey, err)
	}
	return err
}

// Get returns a secret's value, or ErrNotSet.
func (b *Box) Get(ctx context.Context, owner, name string) (string, error) {
	// A rotation by another instance can re-encrypt the row and retire its
	// old key between our read of the row and its decryption: the row then
	// names a key the file no longer holds. Reading the row again settles
	// it; a row that still names an unknown key is a real missing key.
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		s, err := b.st.GetSecret(ctx, owner, name)
		if errors.Is(err, store.ErrNotFound) {
			return "", fmt.Errorf("secret %s/%s: %w", owner, name, ErrNotSet)
		}
		if err != nil {
			return "", fmt.Errorf("read secret %s/%s: %w", owner, name, err)
		}
		plain, err := b.decrypt(s)
		var unknown *UnknownKeyError
		if errors.As(err, &unknown) {
			lastErr = err
			continue
		}
		if err != nil {
			return "", err
		}
		return string(plain), nil
	}
	return "", lastErr
}

// UnknownKeyError: a secret is encrypted with a key that neither the key
// file nor the environment holds.
type UnknownKeyError struct {
	Owner, Name, KeyID, Source string
	Known                      []string
}

func (e *UnknownKeyError) Error() string {
	return fmt.Sprintf("secret %s/%s is encrypted with key %s, which is not in %s (known keys: %v): restore the key that was used", e.Owner, e.Name, e.KeyID, e.Source, e.Known)
}

// IsSet says whether a secret is stored, without decrypting it.
func (b *Box) IsSet(ctx context.Context, owner, name string) (bool, error) {
	_, err := b.st.GetSecret(ctx, owner, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read secret %s/%s: %w", owner, name, err)
	}
	return true, nil
}

func (b *Box) decrypt(s store.Secret) ([]byte, error) {
	if !s.Encrypted {
		return s.Value, nil
	}
	r, err := b.loadRing(false)
	if err != nil {
		return nil, b.missingKey(err)
	}
	k, ok := r.all[s.KeyID]
	if !ok {
		// Another instance may have rotated: read the keys again once.
		if r, err = b.loadRing(true); err != nil {
			return nil, b.missingKey(err)
		}
		if k, ok = r.all[s.KeyID]; !ok {
			return nil, &UnknownKeyError{Owner: s.Owner, Name: s.Name, KeyID: s.KeyID, Source: r.source, Known: r.ids()}
		}
	}
	return open(k, s.Owner, s.Name, s.Value)
}

// Decline records that the user does not want encryption now; secrets are
// then stored in clear and every status shows a warning.
func (b *Box) Decline(ctx context.Context) error {
	state, err := b.State(ctx)
	if err != nil {
		return err
	}
	if state == StateEnabled {
		return errors.New("encryption is already enabled; it cannot be turned off")
	}
	if err := b.st.PutSetting(ctx, SettingState, string(StateDeclined)); err != nil {
		return fmt.Errorf("save encryption state: %w", err)
	}
	return nil
}
