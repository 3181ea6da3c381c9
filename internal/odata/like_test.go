package odata

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWildcards(t *testing.T) {
	t.Parallel()
	rec := Record{"name": "Adatum Corporation", "code": "A_1", "email": "info@adatum.example"}
	tests := []struct {
		filter    string
		wildcards bool
		want      bool
	}{
		{"contains(name,'Ad%Corp')", true, true},
		{"contains(name,'Ad%Corp')", false, false},
		{"startswith(name,'ad_tum')", true, true},
		{"startswith(name,'ad_tum')", false, false},
		{"endswith(email,'.exam[o-q]le')", true, true},
		{"endswith(email,'.exam[^p]le')", true, false},
		{"contains(code,'_')", true, true},
		{"contains(code,'[_]')", true, true},
		{"contains(name,'x%')", true, false},
		{"contains(name,'%')", true, true},
		{"startswith(name,'[')", true, false},
		{"contains(name,'corporation')", true, true},
		{"endswith(name,'%tion')", true, true},
		{"startswith(name,'Adatum%Corp%on')", true, true},
		{"startswith(name,'Adatum%Corp%x')", true, false},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		require.NoError(t, err)
		f.IgnoreCase, f.Wildcards = true, tt.wildcards
		got, err := f.Match(rec)
		require.NoError(t, err)
		require.Equal(t, tt.want, got, "%s wildcards=%v", tt.filter, tt.wildcards)
	}
}

func FuzzLike(f *testing.F) {
	for _, s := range [][2]string{{"abc", "a%c"}, {"a_b", "[_]"}, {"xyz", "[^a-c]%"}, {"", "%"}, {"[", "["}} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, s, p string) {
		if len(s) > 200 || len(p) > 50 {
			return
		}
		got := likeMatch(s, parseLike(p), true)
		if !hasWildcards(p) && got != equalFoldRunes(s, p) {
			t.Fatalf("likeMatch(%q, %q) = %v without wildcards", s, p, got)
		}
		_ = likeTest(opContains, s, p, false)
	})
}

func equalFoldRunes(a, b string) bool { return compareFold(a, b) == 0 }
