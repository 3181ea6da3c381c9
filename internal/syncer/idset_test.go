package syncer

import (
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestPackGUID(t *testing.T) {
	t.Parallel()
	tests := []struct {
		id     string
		packed bool
	}{
		{"3f2504e0-4f89-11d3-9a0c-0305e82c3301", true},
		{"00000000-0000-0000-0000-000000000000", true},
		{"ffffffff-ffff-ffff-ffff-ffffffffffff", true},
		{"3F2504E0-4F89-11D3-9A0C-0305E82C3301", false}, // would come back lowercase
		{"{3f2504e0-4f89-11d3-9a0c-0305e82c3301}", false},
		{"3f2504e04f8911d39a0c0305e82c3301", false},
		{"3f2504e0-4f89-11d3-9a0c-0305e82c330", false},
		{"3f2504e0-4f89-11d3-9a0c-0305e82c33011", false},
		{"3f2504e0-4f89-11d3-9a0c_0305e82c3301", false},
		{"3f2504e0-4f89-11d3-9a0c-0305e82c330g", false},
		{"3f2504e0--f89-11d3-9a0c-0305e82c3301", false},
		{"c-10000", false},
		{"", false},
	}
	for _, tt := range tests {
		g, ok := packGUID(tt.id)
		require.Equal(t, tt.packed, ok, tt.id)
		if ok {
			require.Equal(t, tt.id, g.String())
			require.Equal(t, uuid.MustParse(tt.id), uuid.UUID(g), "the same 16 bytes as a UUID library")
		}
	}
}

// FuzzPackGUID: an id that packs comes back unchanged, and every GUID in
// the services' form packs.
func FuzzPackGUID(f *testing.F) {
	f.Add("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
	f.Add("3F2504E0-4F89-11D3-9A0C-0305E82C3301")
	f.Add("not-a-guid")
	f.Fuzz(func(t *testing.T, id string) {
		if g, ok := packGUID(id); ok && g.String() != id {
			t.Fatalf("%q packs and comes back as %q", id, g.String())
		}
		if u, err := uuid.Parse(id); err == nil && u.String() == id {
			if _, ok := packGUID(id); !ok {
				t.Fatalf("%q is a GUID in the services' form and does not pack", id)
			}
		}
	})
}

// Past several merges of its recent ids into the sorted slice, the set
// still answers every id once, repeats included, and walks each once.
func TestIDSetAcrossMerges(t *testing.T) {
	t.Parallel()
	var s idSet
	n := 3*idSetMergeAt + 123
	ids := make([]string, n)
	for i := range ids {
		ids[i] = uuid.NewString()
		require.True(t, s.add(ids[i]))
		if i%7 == 0 { // a repeat of an earlier one, merged or not
			require.False(t, s.add(ids[i/2]), "id %d again", i/2)
		}
	}
	require.Equal(t, n, s.len())
	require.Len(t, s.recent, n%idSetMergeAt, "three merges, the rest recent")
	require.True(t, slices.IsSortedFunc(s.sorted, compare16[guid]))
	for _, id := range ids {
		require.True(t, s.has(id))
	}
	require.False(t, s.has(uuid.NewString()))
	seen := map[string]bool{}
	for id := range s.all() {
		require.False(t, seen[id], id)
		seen[id] = true
	}
	require.Len(t, seen, n)
}

func TestIDSet(t *testing.T) {
	t.Parallel()
	var s idSet
	ids := []string{uuid.NewString(), uuid.NewString(), "c-10000", "3F2504E0-4F89-11D3-9A0C-0305E82C3301", ""}
	for _, id := range ids {
		require.True(t, s.add(id), id)
		require.False(t, s.add(id), "%s twice", id)
		require.True(t, s.has(id))
	}
	require.Equal(t, len(ids), s.len())
	require.False(t, s.has(strings.ToLower(ids[3])), "an uppercase GUID is kept as written")
	require.ElementsMatch(t, ids, slices.Collect(s.all()))

	var empty *idSet
	require.Zero(t, empty.len())
	require.False(t, empty.has("x"))
	require.Empty(t, slices.Collect(empty.all()))
}

// An id list walks each id once, whatever order and repeats it was given.
func TestIDList(t *testing.T) {
	t.Parallel()
	var l idList
	a, b := uuid.NewString(), uuid.NewString()
	for _, id := range []string{b, "c-2", a, "c-1", b, "c-2", "3F2504E0-4F89-11D3-9A0C-0305E82C3301"} {
		l.add(id)
	}
	require.Equal(t, 5, l.len())
	require.ElementsMatch(t, []string{a, b, "c-1", "c-2", "3F2504E0-4F89-11D3-9A0C-0305E82C3301"}, slices.Collect(l.all()))
	l.add(a)
	l.add("c-3")
	require.Equal(t, 6, l.len(), "added after sealing: sealed again")
	var none *idList
	require.Zero(t, none.len())
	require.Empty(t, slices.Collect(none.all()))
}

// BenchmarkIDSetAdd marks 1,000,000 GUIDs seen, as a full run of that
// size does: time per op and bytes held (B/op) at the end.
func BenchmarkIDSetAdd(b *testing.B) {
	ids := make([]string, 1_000_000)
	for i := range ids {
		ids[i] = uuid.NewString()
	}
	b.ReportAllocs()
	for b.Loop() {
		var s idSet
		for _, id := range ids {
			s.add(id)
		}
		if s.len() != len(ids) {
			b.Fatal(s.len())
		}
	}
}
