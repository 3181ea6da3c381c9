package dataverse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Value conversion between JSON and the stored representation:
// strings → string; whole numbers and choices → int64; Decimal/Double/Money → float64;
// Boolean → bool; DateTime → time.Time (UTC); Uniqueidentifier → uuid.UUID; lookups → ref.

// decodeValue converts the JSON value written to column c of table t, validating its type,
// length and choice value. JSON null clears the column (nil).
func decodeValue(t *Table, c *Column, raw json.RawMessage) (any, error) {
	raw = bytes.TrimSpace(raw)
	if bytes.Equal(raw, []byte("null")) {
		return nil, nil
	}
	kind := typeNames[c.Type]
	switch c.Type {
	case tString, tMemo, tEntityName:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("a value of type 'Edm.String' was expected for property '%s'", c.Name)
		}
		if c.MaxLen > 0 && utf8.RuneCountInString(s) > c.MaxLen {
			return nil, &valueError{code: codeStringTooLong, msg: fmt.Sprintf(
				"A validation error occurred. The length of the '%s' attribute of the '%s' entity exceeded the maximum allowed length of '%d'.",
				c.Name, t.Logical, c.MaxLen)}
		}
		return s, nil
	case tInt, tBigInt, tPicklist, tState, tStatus:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return nil, fmt.Errorf("cannot convert the literal '%s' to the expected type 'Edm.Int32' for property '%s' (%s)", trim(raw), c.Name, kind)
		}
		i, err := strconv.ParseInt(n.String(), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("cannot convert the literal '%s' to the expected type 'Edm.Int32' for property '%s' (%s)", n, c.Name, kind)
		}
		if c.Type != tBigInt && (i > math.MaxInt32 || i < math.MinInt32) {
			return nil, fmt.Errorf("the value %d of property '%s' is outside the Int32 range", i, c.Name)
		}
		if c.Type == tPicklist && c.Options != nil {
			if _, ok := c.Options[int(i)]; !ok && !c.Custom {
				return nil, &valueError{code: codeInvalidOption, msg: fmt.Sprintf(
					"A validation error occurred. The value %d of '%s' on record of type '%s' is outside the valid range. Accepted Values: %s",
					i, c.Name, t.Logical, optionList(c.Options))}
			}
		}
		return i, nil
	case tDecimal, tDouble, tMoney:
		var f float64
		if err := json.Unmarshal(raw, &f); err != nil {
			return nil, fmt.Errorf("cannot convert the literal '%s' to the expected type 'Edm.Decimal' for property '%s'", trim(raw), c.Name)
		}
		return f, nil
	case tBool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, fmt.Errorf("cannot convert the literal '%s' to the expected type 'Edm.Boolean' for property '%s'", trim(raw), c.Name)
		}
		return b, nil
	case tDateTime, tDateOnly:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("cannot convert the literal '%s' to the expected type 'Edm.DateTimeOffset' for property '%s'", trim(raw), c.Name)
		}
		tm, err := parseTime(s)
		if err != nil {
			return nil, fmt.Errorf("cannot convert the literal '%s' to the expected type 'Edm.DateTimeOffset' for property '%s'", s, c.Name)
		}
		if c.Type == tDateOnly {
			tm = time.Date(tm.Year(), tm.Month(), tm.Day(), 0, 0, 0, 0, time.UTC)
		}
		return tm, nil
	case tGUID:
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("cannot convert the literal '%s' to the expected type 'Edm.Guid' for property '%s'", trim(raw), c.Name)
		}
		id, err := uuid.Parse(s)
		if err != nil {
			return nil, fmt.Errorf("cannot convert the literal '%s' to the expected type 'Edm.Guid' for property '%s'", s, c.Name)
		}
		return id, nil
	}
	return nil, fmt.Errorf("property '%s' cannot be set directly; use its navigation property with @odata.bind", c.Name)
}

func parseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05", "2006-01-02"} {
		if tm, err := time.Parse(layout, s); err == nil {
			return tm.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("not a date")
}

func trim(b []byte) string {
	if len(b) > 60 {
		return string(b[:60]) + "…"
	}
	return string(b)
}

func optionList(opts map[int]string) string {
	keys := make([]int, 0, len(opts))
	for k := range opts {
		keys = append(keys, k)
	}
	sortInts(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = strconv.Itoa(k)
	}
	return strings.Join(parts, ",")
}

func sortInts(a []int) {
	for i := 1; i < len(a); i++ {
		for j := i; j > 0 && a[j] < a[j-1]; j-- {
			a[j], a[j-1] = a[j-1], a[j]
		}
	}
}

// valueError carries a specific Dataverse error code for a rejected value.
type valueError struct {
	code string
	msg  string
}

func (e *valueError) Error() string { return e.msg }

// appendJSON appends the JSON form of a stored value.
func appendJSON(b []byte, c *Column, v any) []byte {
	switch x := v.(type) {
	case nil:
		return append(b, "null"...)
	case string:
		return appendString(b, x)
	case int64:
		return strconv.AppendInt(b, x, 10)
	case float64:
		return strconv.AppendFloat(b, x, 'f', -1, 64)
	case bool:
		return strconv.AppendBool(b, x)
	case time.Time:
		if c != nil && c.Type == tDateOnly {
			return append(append(append(b, '"'), x.Format("2006-01-02")...), '"')
		}
		return append(append(append(b, '"'), x.UTC().Format("2006-01-02T15:04:05Z")...), '"')
	case uuid.UUID:
		return append(append(append(b, '"'), x.String()...), '"')
	case ref:
		return append(append(append(b, '"'), x.ID.String()...), '"')
	}
	j, _ := json.Marshal(v)
	return append(b, j...)
}

// appendString appends s as a JSON string (escaping as encoding/json does, without HTML escaping).
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, `\u00`...)
				b = append(b, "0123456789abcdef"[c>>4], "0123456789abcdef"[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, `\u202`...)
			b = append(b, "0123456789abcdef"[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// formatPlain renders a value as text (alternate keys, messages).
func formatPlain(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339)
	case uuid.UUID:
		return x.String()
	case ref:
		return x.ID.String()
	}
	return fmt.Sprint(v)
}

// recordValue converts a stored value to what odata.Filter.Match and SortRecords expect.
func recordValue(v any) any {
	switch x := v.(type) {
	case uuid.UUID:
		return x.String()
	case ref:
		return x.ID.String()
	}
	return v
}
