package odata

import (
	"encoding/json"
	"fmt"
	"slices"
	"unicode/utf8"
)

// AppendObject appends m as encoding/json.Marshal writes it (keys sorted,
// HTML characters escaped), byte for byte. Strings, json.Number, bools
// and nulls, the values of records and payloads, are written directly;
// any other value, and a string that is not valid UTF-8, by
// encoding/json. Marshalling every payload and snapshot by reflection was
// a tenth of a full synchronisation's CPU.
func AppendObject(dst []byte, m map[string]any) ([]byte, error) {
	if m == nil {
		return append(dst, "null"...), nil
	}
	// A record's keys fit on the stack: the heap slice was one of
	// Marshal's two allocations per payload and per snapshot.
	var onStack [32]string
	keys := onStack[:0]
	if len(m) > len(onStack) {
		keys = make([]string, 0, len(m))
	}
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	dst = append(dst, '{')
	for i, k := range keys {
		if i > 0 {
			dst = append(dst, ',')
		}
		var err error
		if dst, err = appendString(dst, k); err != nil {
			return nil, err
		}
		dst = append(dst, ':')
		if dst, err = AppendValue(dst, m[k]); err != nil {
			return nil, fmt.Errorf("field %s: %w", k, err)
		}
	}
	return append(dst, '}'), nil
}

// Marshal is AppendObject to a new slice.
func Marshal(m map[string]any) ([]byte, error) {
	return AppendObject(make([]byte, 0, 64*len(m)+2), m)
}

// AppendValue appends v (a string, number, bool, nil, map or slice of
// those) as encoding/json.Marshal writes it.
func AppendValue(dst []byte, v any) ([]byte, error) {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case string:
		return appendString(dst, v)
	case bool:
		if v {
			return append(dst, "true"...), nil
		}
		return append(dst, "false"...), nil
	case json.Number:
		// A number literal alone: starts with '-' or a digit, ends with a
		// digit, and is JSON (which then leaves no space around it).
		if n := len(v); n > 0 && (v[0] == '-' || isDigit(v[0])) && isDigit(v[n-1]) && json.Valid([]byte(v)) {
			return append(dst, v...), nil
		}
	case map[string]any:
		return AppendObject(dst, v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return append(dst, b...), nil
}

// appendString writes s as encoding/json does: ", \\ and control
// characters escaped, <, > and & as \u003c…, U+2028 and U+2029 escaped;
// the runs between them copied whole. gjson.AppendJSONString writes the
// same a byte at a time, at twice the cost.
func appendString(dst []byte, s string) ([]byte, error) {
	if !utf8.ValidString(s) {
		b, err := json.Marshal(s) // replacement characters, written as encoding/json writes them
		if err != nil {
			return nil, err
		}
		return append(dst, b...), nil
	}
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= utf8.RuneSelf {
			// U+2028 and U+2029 are E2 80 A8 and E2 80 A9.
			if c == 0xE2 && i+2 < len(s) && s[i+1] == 0x80 && (s[i+2] == 0xA8 || s[i+2] == 0xA9) {
				dst = append(dst, s[start:i]...)
				dst = append(dst, `\u202`...)
				dst = append(dst, hex[s[i+2]&0xF])
				i += 3
				start = i
				continue
			}
			i++
			continue
		}
		if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
			i++
			continue
		}
		dst = append(dst, s[start:i]...)
		switch c {
		case '"', '\\':
			dst = append(dst, '\\', c)
		case '\b':
			dst = append(dst, '\\', 'b')
		case '\f':
			dst = append(dst, '\\', 'f')
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		case '\t':
			dst = append(dst, '\\', 't')
		default:
			dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
		}
		i++
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"'), nil
}

const hex = "0123456789abcdef"

func isDigit(c byte) bool { return '0' <= c && c <= '9' }
