package daemon

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"

	"github.com/coupler/coupler/internal/secret"
)

// Session key secret: owner and name in the secret store.
const (
	sessionKeyOwner = "web"
	sessionKeyName  = "session_key"
)

// sessionKey returns the key that signs session cookies, generated once and
// kept in the secret store (encrypted when encryption is enabled), so that
// every instance sharing the database accepts the same cookies. Before the
// user has decided about encryption no secret may be stored: then the key
// lives as long as the process and signing in again is needed after a
// restart.
func sessionKey(ctx context.Context, box *secret.Box, log *slog.Logger) ([]byte, error) {
	v, err := box.Get(ctx, sessionKeyOwner, sessionKeyName)
	if err == nil {
		k, derr := base64.RawStdEncoding.DecodeString(v)
		if derr == nil && len(k) >= 32 {
			return k, nil
		}
		log.Warn("stored session key is malformed; generating a new one (users sign in again)")
	} else if !errors.Is(err, secret.ErrNotSet) {
		return nil, fmt.Errorf("read the session key: %w", err)
	}
	k := make([]byte, 32)
	if _, err := rand.Read(k); err != nil {
		return nil, err
	}
	err = box.Put(ctx, sessionKeyOwner, sessionKeyName, base64.RawStdEncoding.EncodeToString(k))
	if errors.Is(err, secret.ErrUndecided) {
		log.Warn("encryption at rest is not decided yet, so the session key is kept in memory only: sessions end at restart and other instances do not accept them; run `coupler encryption enable`")
		return k, nil
	}
	if err != nil {
		return nil, fmt.Errorf("save the session key: %w", err)
	}
	// Two instances starting together may both have written: use the one
	// that stayed.
	v, err = box.Get(ctx, sessionKeyOwner, sessionKeyName)
	if err != nil {
		return nil, fmt.Errorf("read the session key back: %w", err)
	}
	return base64.RawStdEncoding.DecodeString(v)
}
