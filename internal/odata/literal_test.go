package odata

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLiteralRoundTrip(t *testing.T) {
	t.Parallel()
	ts := time.Date(2024, 5, 1, 12, 30, 15, 500000000, time.FixedZone("x", 2*3600))
	tests := []struct {
		in   any
		text string
		back any // what Equalities gives back
	}{
		{"O'Brien & Co", "'O''Brien & Co'", "O'Brien & Co"},
		{"", "''", ""},
		{GUID("7B0A3F12-6C4E-4D8A-9F1B-2C5D8E9A0B13"), "7b0a3f12-6c4e-4d8a-9f1b-2c5d8e9a0b13", "7b0a3f12-6c4e-4d8a-9f1b-2c5d8e9a0b13"},
		{true, "true", true},
		{42, "42", int64(42)},
		{int64(-7), "-7", int64(-7)},
		{12.5, "12.5", 12.5},
		{1e21, "1000000000000000000000", 1e21},
		{json.Number("3.25"), "3.25", 3.25},
		{nil, "null", nil},
		{ts, "2024-05-01T10:30:15.5Z", ts.UTC()},
		{Date(time.Date(2024, 2, 3, 0, 0, 0, 0, time.UTC)), "2024-02-03", "2024-02-03"},
	}
	for _, tt := range tests {
		text, err := Literal(tt.in)
		require.NoError(t, err, "%v", tt.in)
		require.Equal(t, tt.text, text)
		f, err := ParseFilter("x eq " + text)
		require.NoError(t, err, text)
		got := f.Equalities()["x"]
		if want, ok := tt.back.(time.Time); ok {
			require.True(t, want.Equal(got.(time.Time)), "%v", got)
			continue
		}
		require.Equal(t, tt.back, got, text)
	}
	for _, bad := range []any{GUID("nope"), math.NaN(), math.Inf(1), struct{}{}, json.Number("x")} {
		_, err := Literal(bad)
		require.Error(t, err, "%v", bad)
	}
}
