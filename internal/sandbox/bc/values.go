package bc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
)

const dtoLayout = "2006-01-02T15:04:05.999Z07:00"

func formatMillis(ms int64) string {
	return time.UnixMilli(ms).UTC().Format(dtoLayout)
}

// etag is opaque like BC's: W/"base64('44;<hash>1;<version>;')".
func etag(r *row) string {
	return string(appendETag(make([]byte, 0, 64), r))
}

// appendETag appends the ETag without allocating (it is written for every record).
func appendETag(dst []byte, r *row) []byte {
	const offset, prime = 14695981039346656037, 1099511628211
	h := uint64(offset)
	for i := 0; i < len(r.id); i++ {
		h = (h ^ uint64(r.id[i])) * prime
	}
	for i := range 8 {
		h = (h ^ uint64(byte(r.ver>>(8*i)))) * prime
	}
	var sum [8]byte
	for i := range 8 {
		sum[i] = byte(h >> (56 - 8*i))
	}
	var inner [64]byte
	in := append(inner[:0], "'44;"...)
	in = base64.StdEncoding.AppendEncode(in, sum[:])
	in = append(in, "1;"...)
	in = strconv.AppendUint(in, r.ver, 10)
	in = append(in, ";'"...)
	dst = append(dst, `W/"`...)
	dst = base64.StdEncoding.AppendEncode(dst, in)
	return append(dst, '"')
}

// appendJSONValue writes one field value as BC does (decimals as JSON numbers).
func appendJSONValue(buf *bytes.Buffer, v any) {
	switch x := v.(type) {
	case string:
		appendJSONString(buf, x)
	case float64:
		if math.IsInf(x, 0) || math.IsNaN(x) {
			buf.WriteString("0")
			return
		}
		buf.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	case int64:
		buf.WriteString(strconv.FormatInt(x, 10))
	case bool:
		buf.WriteString(strconv.FormatBool(x))
	default:
		buf.WriteString("null")
	}
}

func appendJSONString(buf *bytes.Buffer, s string) {
	simple := true
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= 0x80 || c == '<' || c == '>' || c == '&' {
			simple = false
			break
		}
	}
	if simple {
		buf.WriteByte('"')
		buf.WriteString(s)
		buf.WriteByte('"')
		return
	}
	b, _ := json.Marshal(s)
	buf.Write(b)
}

// writeRecord writes one record: @odata.etag first, then fields in page order.
// sel lists field positions (nil = all).
func writeRecord(buf *bytes.Buffer, t *table, r *row, sel []int, ctx string, extra func(*bytes.Buffer)) {
	buf.WriteByte('{')
	if ctx != "" {
		buf.WriteString(`"@odata.context":`)
		appendJSONString(buf, ctx)
		buf.WriteByte(',')
	}
	buf.WriteString(`"@odata.etag":"`)
	var tag [96]byte
	for _, c := range appendETag(tag[:0], r) {
		if c == '"' {
			buf.WriteByte('\\')
		}
		buf.WriteByte(c)
	}
	buf.WriteByte('"')
	write := func(i int) {
		f := t.set.fields[i]
		buf.WriteString(`,"`)
		buf.WriteString(f.name)
		buf.WriteString(`":`)
		if f.name == "lastModifiedDateTime" {
			appendJSONString(buf, formatMillis(r.mod))
			return
		}
		appendJSONValue(buf, t.val(r, i))
	}
	if sel == nil {
		for i := range t.set.fields {
			write(i)
		}
	} else {
		for _, i := range sel {
			write(i)
		}
	}
	if extra != nil {
		extra(buf)
	}
	buf.WriteByte('}')
}

// value returns a field's value for filtering: lastModifiedDateTime and DTO fields as time.Time.
func (t *table) filterValue(r *row, i int) any {
	f := t.set.fields[i]
	if f.name == "lastModifiedDateTime" {
		return time.UnixMilli(r.mod).UTC()
	}
	v := t.val(r, i)
	if f.kind == kDateTime {
		if s, ok := v.(string); ok {
			if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
				return tm
			}
		}
	}
	return v
}

// convert validates one JSON value against a field, returning the stored form.
func convert(set *entitySet, f field, raw json.RawMessage) (any, *apiError) {
	raw = bytes.TrimSpace(raw)
	if string(raw) == "null" {
		return nil, errf(http.StatusBadRequest, codeBadRequest,
			"A null value was found for the property named '%s', which has the expected type '%s[Nullable=False]'. The expected type '%s[Nullable=False]' does not allow null values.",
			f.name, f.kind.edm(), f.kind.edm())
	}
	typeErr := func() *apiError {
		return errf(http.StatusBadRequest, codeBadRequest, "Cannot convert the literal '%s' to the expected type '%s' of property '%s'.", strings.Trim(string(raw), `"`), f.kind.edm(), f.name)
	}
	switch f.kind {
	case kDecimal, kInt32, kInt64:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil || len(raw) == 0 || raw[0] == '"' {
			return nil, typeErr()
		}
		if f.kind == kDecimal {
			v, err := n.Float64()
			if err != nil {
				return nil, typeErr()
			}
			return v, nil
		}
		v, err := n.Int64()
		if err != nil || f.kind == kInt32 && (v > math.MaxInt32 || v < math.MinInt32) {
			return nil, typeErr()
		}
		return v, nil
	case kBool:
		var b bool
		if err := json.Unmarshal(raw, &b); err != nil {
			return nil, typeErr()
		}
		return b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, typeErr()
	}
	switch f.kind {
	case kGUID:
		u, err := uuid.Parse(s)
		if err != nil {
			return nil, typeErr()
		}
		return u.String(), nil
	case kDate:
		if _, err := time.Parse(time.DateOnly, s); err != nil {
			return nil, errf(http.StatusBadRequest, codeBadRequest, "Unable to convert value '%s' to Date for property '%s'; use YYYY-MM-DD.", s, f.name)
		}
		return s, nil
	case kDateTime:
		tm, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return nil, typeErr()
		}
		return tm.UTC().Format(dtoLayout), nil
	case kEnum:
		opts := enums[f.enum]
		for _, o := range opts {
			if s == o || s == decodeEnum(o) {
				return o, nil
			}
		}
		names := make([]string, len(opts))
		for i, o := range opts {
			names[i] = decodeEnum(o)
		}
		return nil, errf(http.StatusBadRequest, "Unknown", "'%s' is not an option. The existing options are: %s", s, strings.Join(names, ","))
	}
	if f.maxLen > 0 {
		if n := utf8.RuneCountInString(s); n > f.maxLen {
			return nil, errf(http.StatusBadRequest, codeStringTooLong, "The length of the string is %d, but it must be less than or equal to %d characters. Value: %s", n, f.maxLen, s)
		}
	}
	return s, nil
}

// decodeEnum turns an escaped enum value (_x0020_) back into its AL member name.
func decodeEnum(s string) string {
	if !strings.Contains(s, "_x") {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); {
		if i+7 <= len(s) && s[i] == '_' && s[i+1] == 'x' && s[i+6] == '_' {
			if n, err := strconv.ParseUint(s[i+2:i+6], 16, 16); err == nil {
				b.WriteRune(rune(n))
				i += 7
				continue
			}
		}
		b.WriteByte(s[i])
		i++
	}
	return b.String()
}

// decodeBody parses a write body into field positions → values. Annotations are ignored;
// the property named nested (a contained line set, for deep insert) is returned raw.
func decodeBody(set *entitySet, body []byte, nested string) (map[int]any, json.RawMessage, *apiError) {
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(&m); err != nil || m == nil {
		return nil, nil, errf(http.StatusBadRequest, codeBadRequest, "Invalid Request Body: the body must be a JSON object (%v).", err)
	}
	out := make(map[int]any, len(m))
	var lines json.RawMessage
	for k, raw := range m {
		if strings.HasPrefix(k, "@odata.") || strings.Contains(k, "@odata.") {
			continue
		}
		if nested != "" && k == nested {
			lines = raw
			continue
		}
		f, i, ok := set.field(k)
		if !ok {
			return nil, nil, errf(http.StatusBadRequest, codeBadRequest, "The property '%s' does not exist on type 'Microsoft.NAV.%s'. Make sure to only use property names that are defined by the type.", k, set.entity)
		}
		v, err := convert(set, f, raw)
		if err != nil {
			return nil, nil, err
		}
		out[i] = v
	}
	return out, lines, nil
}
