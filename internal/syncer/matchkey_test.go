package syncer

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
)

// referenceKey is the rule matchKey implements, written plainly: each
// value printed, trimmed and lower-cased, joined by NUL; a missing or
// blank value gives no key.
func referenceKey(vals ...any) (keyHash, bool) {
	parts := make([]string, len(vals))
	for i, v := range vals {
		s := strings.ToLower(strings.TrimSpace(fmt.Sprint(v)))
		if v == nil || s == "" {
			return keyHash{}, false
		}
		parts[i] = s
	}
	return hashKey([]byte(strings.Join(parts, "\x00"))), true
}

func keyOf(vals ...any) (keyHash, bool) {
	group := make([]mapping.FieldMapping, len(vals))
	rec := map[string]any{}
	for i, v := range vals {
		group[i] = mapping.FieldMapping{ERPField: fmt.Sprint("f", i), CRMField: fmt.Sprint("c", i)}
		if v != nil {
			rec[group[i].ERPField] = v
		}
	}
	return matchKey(group, rec, true)
}

func TestMatchKey(t *testing.T) {
	t.Parallel()
	for _, vals := range [][]any{
		{"Adatum Corporation"}, {"  ADATUM corporation \t"}, {"İSTANBUL Ltd"}, {"Ærøskøbing ApS"},
		{json.Number("10000")}, {1.5}, {42}, {true}, {nil}, {""}, {"   "},
		{"Trey", "Research"}, {"Trey", ""}, {nil, "x"}, {"a\x00b"}, {"a", "b"},
		{strings.Repeat("Long Name ", 40)},
	} {
		want, wantOK := referenceKey(vals...)
		got, ok := keyOf(vals...)
		require.Equal(t, wantOK, ok, "%q", vals)
		require.Equal(t, want, got, "%q", vals)
	}
	a, _ := keyOf("  Adatum ")
	b, _ := keyOf("ADATUM")
	require.Equal(t, a, b, "trimmed and case-folded")
}

func FuzzMatchKey(f *testing.F) {
	f.Add("Adatum", "10000")
	f.Add(" İSTANBUL ", "")
	f.Add("\u00a0x\u2003", "Y")
	f.Fuzz(func(t *testing.T, a, b string) {
		want, wantOK := referenceKey(a, b)
		got, ok := keyOf(a, b)
		if ok != wantOK || got != want {
			t.Fatalf("matchKey(%q, %q) = %x %v, want %x %v", a, b, got, ok, want, wantOK)
		}
	})
}

// BenchmarkMatchKey: a customer's two match groups (number, name), as
// matchKey hashes them and as the plain rule (fmt.Sprint, ToLower, Join,
// then the hash) did.
func BenchmarkMatchKey(b *testing.B) {
	rec := map[string]any{"number": "C0012345", "displayName": "Adatum Corporation 12345"}
	groups := [][]mapping.FieldMapping{{{ERPField: "number"}}, {{ERPField: "displayName"}}}
	b.Run("stack", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, g := range groups {
				matchKey(g, rec, true)
			}
		}
	})
	b.Run("plain", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			for _, g := range groups {
				referenceKey(rec[g[0].ERPField])
			}
		}
	})
}
