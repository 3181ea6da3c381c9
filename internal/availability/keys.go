// Package availability serves the ERP's item availability to the CRM: the
// seed's OData web service ProductItemAvailability (BC page 5390, anchor §7),
// secured by an ERP user name and a web service access key that coupler
// issues, and the newer job that writes ERP inventory to the quantity on
// hand of coupled CRM products.
package availability

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/store"
)

// keyBytes is the entropy of a key: 32 random bytes, 43 base64url characters
// (BC's own web service access keys are 44 base64 characters).
const keyBytes = 32

// hashKey is what the store keeps of a key. A fast hash is right here: the
// key is 256 random bits, not a password, so it cannot be guessed offline.
func hashKey(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:])
}

// CreateKey issues a new web service access key for an ERP user name. The
// key is returned once and only its hash is stored.
func CreateKey(ctx context.Context, st store.Store, userName string) (string, store.ServiceKey, error) {
	userName = strings.TrimSpace(userName)
	if userName == "" {
		return "", store.ServiceKey{}, errors.New("availability: a key needs the ERP user name the CRM will send with it (e.g. --user ADMIN)")
	}
	b := make([]byte, keyBytes)
	if _, err := rand.Read(b); err != nil {
		return "", store.ServiceKey{}, fmt.Errorf("availability: random key: %w", err)
	}
	key := base64.RawURLEncoding.EncodeToString(b)
	k, err := st.CreateServiceKey(ctx, store.ServiceKey{UserName: userName, Hash: hashKey(key), Prefix: key[:6]})
	if err != nil {
		return "", store.ServiceKey{}, fmt.Errorf("availability: store key: %w", err)
	}
	return key, k, nil
}

// checkKey reports which active key of userName matches key, comparing
// every candidate in constant time.
func checkKey(ctx context.Context, st store.Store, userName, key string) (store.ServiceKey, bool, error) {
	ks, err := st.ActiveServiceKeys(ctx, userName)
	if err != nil {
		return store.ServiceKey{}, false, fmt.Errorf("availability: read keys: %w", err)
	}
	want := []byte(hashKey(key))
	var hit store.ServiceKey
	ok := false
	for _, k := range ks {
		if subtle.ConstantTimeCompare(want, []byte(k.Hash)) == 1 {
			hit, ok = k, true
		}
	}
	return hit, ok, nil
}

// RevokeKey revokes a key by id.
func RevokeKey(ctx context.Context, st store.Store, id int64) error {
	if err := st.RevokeServiceKey(ctx, id, time.Now()); err != nil {
		return fmt.Errorf("availability: revoke key %d: %w", id, err)
	}
	return nil
}
