package dataverse

import (
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"
)

func TestPosting(t *testing.T) {
	t.Parallel()
	for _, n := range []int{1, 2, 3, postingPosThreshold + 5} {
		var p posting
		ids := make([]uuid.UUID, n)
		for i := range ids {
			ids[i] = uuid.New()
			p.add(ids[i])
		}
		require.ElementsMatch(t, ids, p.list())
		// Remove from the middle, an unknown id, then everything.
		p.remove(uuid.New())
		require.Len(t, p.list(), n)
		for i := n - 1; i >= 0; i -= 2 {
			p.remove(ids[i])
		}
		var left []uuid.UUID
		for i := n - 2; i >= 0; i -= 2 {
			left = append(left, ids[i])
		}
		require.ElementsMatch(t, left, p.list())
		for _, id := range left {
			p.remove(id)
		}
		require.True(t, p.empty())
		require.Empty(t, p.list())
	}
}

func TestRowBaseAndNull(t *testing.T) {
	t.Parallel()
	base := []cell{{2, "base-two"}, {5, int64(5)}}
	r := &row{id: uuid.New(), base: &base, cells: []cell{{3, "own"}}}
	require.Equal(t, "base-two", r.get(2))
	require.Equal(t, "own", r.get(3))
	nr := r.with(map[int]any{2: nil, 4: "new"})
	require.Nil(t, nr.get(2), "a cleared base value reads as null")
	require.Equal(t, "new", nr.get(4))
	require.EqualValues(t, 5, nr.get(5))
	require.Equal(t, "base-two", r.get(2), "the original row is unchanged")
}
