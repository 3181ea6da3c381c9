package users_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/users"
)

func TestHashAndVerify(t *testing.T) {
	t.Parallel()
	kdf := users.KDF{Memory: 1024, Time: 1, Threads: 1}
	h, err := kdf.Hash("correct horse battery")
	require.NoError(t, err)
	require.Contains(t, h, "$argon2id$v=19$m=1024,t=1,p=1$")
	require.NotContains(t, h, "correct horse")
	ok, err := users.Verify(h, "correct horse battery")
	require.NoError(t, err)
	require.True(t, ok)
	ok, err = users.Verify(h, "correct horse batterY")
	require.NoError(t, err)
	require.False(t, ok)
	h2, err := kdf.Hash("correct horse battery")
	require.NoError(t, err)
	require.NotEqual(t, h, h2, "each hash has its own salt")
}

func TestVerifyMalformed(t *testing.T) {
	t.Parallel()
	for _, h := range []string{"", "plain", "$argon2i$v=19$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=18$m=1,t=1,p=1$AAAA$AAAA", "$argon2id$v=19$m=x$AAAA$AAAA", "$argon2id$v=19$m=1,t=1,p=1$!!$AAAA", "$argon2id$v=19$m=1,t=1,p=1$AAAA$", "$argon2id$v=19$m=4000000000,t=1,p=1$AAAA$AAAA"} {
		_, err := users.Verify(h, "x")
		require.ErrorIs(t, err, users.ErrMalformedHash, h)
	}
}

func TestValidation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{" Ada@Example.COM ", "ada@example.com", true},
		{"ada", "", false},
		{"ada@localhost", "", false},
		{"Ada <ada@example.com>", "", false},
		{"", "", false},
	}
	for _, tt := range tests {
		got, err := users.NormalizeEmail(tt.in)
		if tt.ok {
			require.NoError(t, err, tt.in)
			require.Equal(t, tt.want, got)
		} else {
			var fe *users.FieldError
			require.ErrorAs(t, err, &fe, tt.in)
			require.Equal(t, "email", fe.Field)
		}
	}
	_, err := users.ParseRole("root")
	require.ErrorContains(t, err, "use admin, operator or viewer")
	require.True(t, users.RoleAdmin.Can(users.RoleOperator))
	require.False(t, users.RoleViewer.Can(users.RoleOperator))
}

func FuzzVerify(f *testing.F) {
	f.Add("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA", "pw")
	f.Fuzz(func(t *testing.T, hash, pw string) {
		// Parameters from a corrupted row must never hang or crash sign-in.
		if len(hash) > 200 {
			return
		}
		_, _ = users.Verify(hash, pw)
	})
}
