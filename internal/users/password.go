package users

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// KDF holds Argon2id parameters. The defaults are OWASP's minimum for
// Argon2id (19 MiB, 2 passes, 1 lane): strong enough against offline
// guessing while a sign-in stays well under a second on a small server.
// Tests use cheaper ones.
type KDF struct {
	Memory  uint32 // KiB
	Time    uint32
	Threads uint8
}

// DefaultKDF is used for every stored password.
var DefaultKDF = KDF{Memory: 19 * 1024, Time: 2, Threads: 1}

// ErrMalformedHash means a stored hash cannot be read (never a wrong password).
var ErrMalformedHash = errors.New("malformed password hash")

// Hash derives a storable hash of password in PHC string format, with its
// parameters so that they can be raised later without breaking old hashes.
func (k KDF) Hash(password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, k.Time, k.Memory, k.Threads, 32)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, k.Memory, k.Time, k.Threads, enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// Verify reports whether password matches hash, in constant time.
func Verify(hash, password string) (bool, error) {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return false, ErrMalformedHash
	}
	var v int
	var k KDF
	if _, err := fmt.Sscanf(parts[2], "v=%d", &v); err != nil || v != argon2.Version {
		return false, ErrMalformedHash
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &k.Memory, &k.Time, &k.Threads); err != nil {
		return false, ErrMalformedHash
	}
	// Bound the cost so that a corrupted row cannot exhaust memory or time.
	if k.Memory < 8 || k.Memory > 1<<20 || k.Time < 1 || k.Time > 16 || k.Threads < 1 {
		return false, ErrMalformedHash
	}
	enc := base64.RawStdEncoding
	salt, err := enc.DecodeString(parts[4])
	if err != nil {
		return false, ErrMalformedHash
	}
	want, err := enc.DecodeString(parts[5])
	if err != nil || len(want) == 0 {
		return false, ErrMalformedHash
	}
	got := argon2.IDKey([]byte(password), salt, k.Time, k.Memory, k.Threads, uint32(len(want)))
	return subtle.ConstantTimeCompare(got, want) == 1, nil
}
