package secret

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// KeyFileName is the key file's name inside the data dir.
const KeyFileName = "encryption.key"

// EnvKey and EnvOldKeys name the environment variables that supply keys
// instead of the key file: the current key, and the keys a rotation is
// moving away from (comma separated), each base64 of 32 bytes.
const (
	EnvKey     = "COUPLER_ENCRYPTION_KEY"
	EnvOldKeys = "COUPLER_ENCRYPTION_OLD_KEYS"
)

// ErrNoKey is returned when encryption is needed but no key exists yet.
var ErrNoKey = errors.New("no encryption key: run `coupler encryption enable` or set " + EnvKey)

// key is one AES-256 key. Its id is a fingerprint of the key, so several
// instances reading the same key agree on the id without coordination.
type key struct {
	id  string
	raw []byte
}

func newKey(raw []byte) (key, error) {
	if len(raw) != 32 {
		return key{}, fmt.Errorf("an encryption key must be 32 bytes, got %d", len(raw))
	}
	sum := sha256.Sum256(append([]byte("coupler key id\x00"), raw...))
	return key{id: hex.EncodeToString(sum[:6]), raw: append([]byte(nil), raw...)}, nil
}

func generateKey() (key, error) {
	raw := make([]byte, 32)
	if _, err := rand.Read(raw); err != nil {
		return key{}, fmt.Errorf("generate encryption key: %w", err)
	}
	return newKey(raw)
}

// ring is the set of usable keys; current encrypts, all decrypt.
type ring struct {
	current key
	all     map[string]key
	source  string // "key file /path" or "environment COUPLER_ENCRYPTION_KEY"
	modTime time.Time
}

func (r *ring) ids() []string {
	out := []string{r.current.id}
	for id := range r.all {
		if id != r.current.id {
			out = append(out, id)
		}
	}
	return out
}

func parseEnvKey(name, v string) (key, error) {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(v))
	if err != nil {
		return key{}, fmt.Errorf("%s is not valid base64; generate one with `openssl rand -base64 32`", name)
	}
	k, err := newKey(raw)
	if err != nil {
		return key{}, fmt.Errorf("%s: %v; generate one with `openssl rand -base64 32`", name, err)
	}
	return k, nil
}

// envRing reads the keys from the environment; ok is false when EnvKey is unset.
func envRing(getenv func(string) string) (*ring, bool, error) {
	v := getenv(EnvKey)
	if v == "" {
		return nil, false, nil
	}
	cur, err := parseEnvKey(EnvKey, v)
	if err != nil {
		return nil, true, err
	}
	r := &ring{current: cur, all: map[string]key{cur.id: cur}, source: "environment " + EnvKey}
	for _, old := range strings.Split(getenv(EnvOldKeys), ",") {
		if strings.TrimSpace(old) == "" {
			continue
		}
		k, err := parseEnvKey(EnvOldKeys, old)
		if err != nil {
			return nil, true, err
		}
		r.all[k.id] = k
	}
	return r, true, nil
}

// The key file holds one key per line, "id base64", the first line being
// the current key. Older keys stay in the file while a rotation runs.
func readKeyFile(path string) (*ring, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s is readable by other users (mode %v); run `chmod 600 %s`", path, fi.Mode().Perm(), path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	r := &ring{all: map[string]key{}, source: "key file " + path, modTime: fi.ModTime()}
	sc := bufio.NewScanner(bytes.NewReader(data))
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		fields := strings.Fields(text)
		if len(fields) != 2 {
			return nil, fmt.Errorf("key file %s line %d: want \"id base64-key\"", path, line)
		}
		raw, err := base64.StdEncoding.DecodeString(fields[1])
		if err != nil {
			return nil, fmt.Errorf("key file %s line %d: key is not valid base64", path, line)
		}
		k, err := newKey(raw)
		if err != nil {
			return nil, fmt.Errorf("key file %s line %d: %v", path, line, err)
		}
		if k.id != fields[0] {
			return nil, fmt.Errorf("key file %s line %d: id %s does not match its key (the file was edited by hand?)", path, line, fields[0])
		}
		if len(r.all) == 0 {
			r.current = k
		}
		r.all[k.id] = k
	}
	if len(r.all) == 0 {
		return nil, fmt.Errorf("key file %s holds no key", path)
	}
	return r, nil
}

// writeKeyFile replaces the key file atomically (write, fsync, rename) so
// that a reader never sees half a file.
func writeKeyFile(path string, current key, others []key) error {
	var b strings.Builder
	b.WriteString("# coupler encryption keys: first line is the current key. Keep this file secret and backed up.\n")
	fmt.Fprintf(&b, "%s %s\n", current.id, base64.StdEncoding.EncodeToString(current.raw))
	for _, k := range others {
		if k.id != current.id {
			fmt.Fprintf(&b, "%s %s\n", k.id, base64.StdEncoding.EncodeToString(k.raw))
		}
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".encryption.key.*")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if _, err := tmp.WriteString(b.String()); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write key file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	return nil
}
