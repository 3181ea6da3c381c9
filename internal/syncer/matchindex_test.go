package syncer

import (
	"context"
	"fmt"
	"slices"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
)

// nothingCoupled is a store in which no record is coupled: the index's
// only question to it.
type nothingCoupled struct{ Store }

func (nothingCoupled) GetCouplings(context.Context, string, string, []string) ([]Coupling, error) {
	return nil, nil
}

// The sealed index gives a key's single record, marks a key that several
// records share, and takes a row read twice for one record, for GUIDs and
// other ids alike; pages added after sealing are taken in too.
func TestMatchIndexSeal(t *testing.T) {
	t.Parallel()
	byName := [][]mapping.FieldMapping{{{ERPField: "displayName", CRMField: "name"}}}
	row := func(id, name string) Record { return Record{ID: id, Fields: map[string]any{"name": name}} }
	g1, g2, g3 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	tests := []struct {
		name  string
		pages [][]Record
		key   string
		want  string // CRM id, "ambiguous" or "" (no candidate)
	}{
		{"one GUID", [][]Record{{row(g1, "Adatum"), row(g2, "Trey")}}, "adatum", g1},
		{"other id", [][]Record{{row("a-1", "Adatum")}}, "adatum", "a-1"},
		{"read twice", [][]Record{{row(g1, "Adatum")}, {row(g2, "Trey"), row(g1, "Adatum")}}, "adatum", g1},
		{"other id read twice", [][]Record{{row("a-1", "Adatum"), row("a-1", "adatum ")}}, "adatum", "a-1"},
		{"two GUIDs", [][]Record{{row(g1, "Trey"), row(g2, "Trey")}}, "trey", "ambiguous"},
		{"three, one twice", [][]Record{{row(g1, "Trey"), row(g2, "TREY")}, {row(g1, "Trey"), row(g3, "trey")}}, "trey", "ambiguous"},
		{"GUID and other id", [][]Record{{row(g1, "Trey"), row("a-1", "Trey")}}, "trey", "ambiguous"},
		{"two other ids", [][]Record{{row("a-1", "Trey"), row("a-2", "Trey")}}, "trey", "ambiguous"},
		{"no such key", [][]Record{{row(g1, "Adatum")}}, "trey", ""},
		{"no key at all", [][]Record{{row(g1, "  ")}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ix := newMatchIndex(nothingCoupled{}, "CUSTOMER", byName)
			for i, p := range tt.pages {
				require.NoError(t, ix.addCRM(context.Background(), p, nil, nil))
				if i == 0 {
					ix.seal() // a page after sealing unseals
				}
			}
			ix.seal()
			require.True(t, slices.IsSortedFunc(ix.crm[0], func(a, b keyRef) int { return compare16(a.key, b.key) }))
			got := ""
			if ref, ok := ix.lookup(0, hashKey([]byte(tt.key))); ok {
				got = "ambiguous"
				if ref != refAmbiguous {
					got = ix.ids.id(ref)
				}
			}
			require.Equal(t, tt.want, got)
		})
	}
}

// The ids the run keeps while the index is built are the index's own packed
// ids: each kept row once (read twice or not), rows without a match key
// too, and none of those keep refuses.
func TestMatchIndexKeeps(t *testing.T) {
	t.Parallel()
	byName := [][]mapping.FieldMapping{{{ERPField: "displayName", CRMField: "name"}}}
	row := func(id, name, by string) Record {
		return Record{ID: id, ModifiedBy: by, Fields: map[string]any{"name": name}}
	}
	g1, g2, g3 := uuid.NewString(), uuid.NewString(), uuid.NewString()
	pages := [][]Record{
		{row(g1, "Adatum", "u"), row(g2, "Trey", "coupler"), row("a-1", "", "u")},
		{row(g3, "  ", "u"), row(g1, "Adatum", "u"), row("a-1", "", "u"), row("a-0", "Fabrikam", "u")},
	}
	ix := newMatchIndex(nothingCoupled{}, "CUSTOMER", byName)
	kept := &idList{}
	keep := func(r Record) bool { return r.ModifiedBy != "coupler" }
	for _, p := range pages {
		require.NoError(t, ix.addCRM(context.Background(), p, keep, kept))
	}
	ix.seal()
	ref, ok := ix.lookup(0, hashKey([]byte("trey")))
	require.True(t, ok, "a row not kept is indexed all the same")
	require.Equal(t, g2, ix.ids.id(ref))

	require.Equal(t, 4, kept.len())
	got := slices.Collect(kept.all())
	require.ElementsMatch(t, []string{g1, g3, "a-0", "a-1"}, got)
	require.Equal(t, []string{"a-0", "a-1"}, got[2:], "GUIDs first, then the other ids in order")
	require.Error(t, newMatchIndex(nothingCoupled{}, "CUSTOMER", byName).addCRM(context.Background(), pages[0], keep, kept),
		"a list that shares one index's ids cannot take another's")
}

// The directory finds every key of a sealed group and no other, whatever
// the group's size (directories of 1 to 2¹⁶ entries).
func TestMatchIndexDirectory(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 1, 2, 3, 100, 4096, 70_000} {
		ix := newMatchIndex(nothingCoupled{}, "CUSTOMER", [][]mapping.FieldMapping{{{ERPField: "displayName", CRMField: "name"}}})
		want := map[keyHash]int32{}
		for i := range n {
			k := hashKey([]byte(fmt.Sprint("key ", i)))
			ix.crm[0] = append(ix.crm[0], keyRef{key: k, ref: int32(i)})
			want[k] = int32(i)
		}
		ix.seal()
		require.Len(t, ix.dir[0], 1<<dirBits(n)+1, "n=%d", n)
		for k, ref := range want {
			got, ok := ix.lookup(0, k)
			require.True(t, ok, "n=%d", n)
			require.Equal(t, ref, got, "n=%d", n)
		}
		for i := range 1000 {
			_, ok := ix.lookup(0, hashKey([]byte(fmt.Sprint("absent ", i))))
			require.False(t, ok, "n=%d", n)
		}
	}
}

// BenchmarkMatchIndexLookup is a lookup among 100,000 keys, present or not.
func BenchmarkMatchIndexLookup(b *testing.B) {
	ix := newMatchIndex(nothingCoupled{}, "CUSTOMER", [][]mapping.FieldMapping{{{ERPField: "displayName", CRMField: "name"}}})
	keys := make([]keyHash, 200_000)
	for i := range keys {
		keys[i] = hashKey([]byte(fmt.Sprint("key ", i)))
		if i%2 == 0 {
			ix.crm[0] = append(ix.crm[0], keyRef{key: keys[i], ref: int32(i)})
		}
	}
	ix.seal()
	i := 0
	for b.Loop() {
		ix.lookup(0, keys[i%len(keys)])
		i += 7919
	}
}
