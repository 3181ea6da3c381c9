package daemon

import (
	"context"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/logging"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/users"
)

func TestSessionKeyStoredEncryptedOnlyOnceDecided(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	dir := t.TempDir()
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: logging.Discard()})
	require.NoError(t, err)
	defer st.Close()
	box, err := secret.New(secret.Options{Store: st, DataDir: dir, Logger: logging.Discard()})
	require.NoError(t, err)

	k0, err := sessionKey(ctx, box, logging.Discard())
	require.NoError(t, err)
	require.Len(t, k0, 32)
	set, err := box.IsSet(ctx, sessionKeyOwner, sessionKeyName)
	require.NoError(t, err)
	require.False(t, set, "no secret may be stored before encryption is decided")

	_, err = box.Enable(ctx)
	require.NoError(t, err)
	k1, err := sessionKey(ctx, box, logging.Discard())
	require.NoError(t, err)
	require.NotEqual(t, k0, k1)
	s, err := st.GetSecret(ctx, sessionKeyOwner, sessionKeyName)
	require.NoError(t, err)
	require.True(t, s.Encrypted, "the session key is stored encrypted")
	k2, err := sessionKey(ctx, box, logging.Discard())
	require.NoError(t, err)
	require.Equal(t, k1, k2, "the stored key is reused")
}

// TestSessionSurvivesRestart: a cookie issued by one instance is accepted by
// the next one on the same database.
func TestSessionSurvivesRestart(t *testing.T) {
	t.Parallel()
	cfg := config.Default()
	cfg.HTTP.Addr = "127.0.0.1:0"
	cfg.DataDir = t.TempDir()
	func() {
		st, err := store.Open(t.Context(), store.Options{DataDir: cfg.DataDir, Logger: logging.Discard()})
		require.NoError(t, err)
		defer st.Close()
		box, err := secret.New(secret.Options{Store: st, DataDir: cfg.DataDir})
		require.NoError(t, err)
		_, err = box.Enable(t.Context())
		require.NoError(t, err)
		_, err = users.NewService(st, logging.Discard(), users.KDF{Memory: 1024, Time: 1, Threads: 1}).
			Create(context.Background(), "a@example.com", "A", users.RoleViewer, "correct horse battery")
		require.NoError(t, err)
	}()

	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	r := start(t, cfg, nil)
	base := "http://" + r.d.Addr()
	resp, err := c.Get(base + "/signin")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="csrf_token" value="([^"]+)"`).FindSubmatch(b)
	require.NotNil(t, m)
	resp, err = c.PostForm(base+"/signin", url.Values{"email": {"a@example.com"}, "password": {"correct horse battery"}, "csrf_token": {string(m[1])}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	u, _ := url.Parse(base)
	cookies := jar.Cookies(u)
	r.shutdown(t)

	r = start(t, cfg, nil)
	base2 := "http://" + r.d.Addr()
	req, _ := http.NewRequest(http.MethodGet, base2+"/", nil)
	for _, ck := range cookies {
		req.AddCookie(ck)
	}
	resp, err = c.Do(req)
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "the second instance accepts the first one's session")
	require.True(t, strings.Contains(string(b), "Signed in as A"))
	r.shutdown(t)
}
