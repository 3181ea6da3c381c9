package syncer

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pagedSide serves n pages of one record each, then fails with err.
type pagedSide struct {
	Side
	n   int
	err error
	got int // pages the reader handed over
	// made counts the pages the reader has made, handed over or not.
	made atomic.Int32
}

func (s *pagedSide) Read(_ context.Context, _ ReadQuery, fn func([]Record) error) error {
	for i := range s.n {
		s.made.Add(1)
		if err := fn([]Record{{ID: fmt.Sprint(i)}}); err != nil {
			return err
		}
		s.got++
	}
	return s.err
}

func TestReadAhead(t *testing.T) {
	t.Parallel()
	boom, stop := errors.New("the ERP went away"), errors.New("the run was held")
	for _, tt := range []struct {
		name    string
		n       int
		readErr error
		stopAt  int // fn fails on this page (-1: never)
		want    []string
		wantErr error
	}{
		{"every page in order", 5, nil, -1, []string{"0", "1", "2", "3", "4"}, nil},
		{"no page", 0, nil, -1, nil, nil},
		{"read error after the pages before it", 3, boom, -1, []string{"0", "1", "2"}, boom},
		{"fn error stops the read", 50, nil, 2, []string{"0", "1", "2"}, stop},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			side := &pagedSide{n: tt.n, err: tt.readErr}
			var got []string
			err := readAhead(t.Context(), side, ReadQuery{}, func(page []Record) error {
				got = append(got, page[0].ID)
				if len(got)-1 == tt.stopAt {
					return stop
				}
				return nil
			})
			require.ErrorIs(t, err, tt.wantErr)
			if tt.wantErr == nil {
				require.NoError(t, err)
			}
			require.Equal(t, tt.want, got)
			if tt.stopAt >= 0 {
				require.Less(t, side.got, tt.n, "the reader stopped early")
			}
		})
	}
}

// While fn works on page k the reader has made page k+1 at most: one page
// waits, not two (each ERP page is thousands of decoded records).
func TestReadAheadHoldsOnePageAhead(t *testing.T) {
	t.Parallel()
	side := &pagedSide{n: 6}
	k := int32(0)
	err := readAhead(t.Context(), side, ReadQuery{}, func(page []Record) error {
		time.Sleep(20 * time.Millisecond) // time enough for the reader to run ahead if it can
		require.LessOrEqual(t, side.made.Load(), min(k+2, 6), "pages made while fn holds page %d", k)
		k++
		return nil
	})
	require.NoError(t, err)
	require.Equal(t, int32(6), k)
}
