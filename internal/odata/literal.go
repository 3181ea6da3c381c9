package odata

import (
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"
)

var guidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// Literal writes v as an OData URL literal for $filter or a key, so that
// clients never build filters by hand: strings are quoted with ' doubled
// ('O”Brien'), time.Time becomes an RFC 3339 date-time in UTC, a GUID
// (type GUID) is written bare, numbers and booleans as such, nil as null.
// The result still needs URL query escaping (url.Values does it).
func Literal(v any) (string, error) {
	switch x := v.(type) {
	case nil:
		return "null", nil
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'", nil
	case GUID:
		if !guidPattern.MatchString(string(x)) {
			return "", fmt.Errorf("odata: %q is not a GUID (8-4-4-4-12 hexadecimal digits)", string(x))
		}
		return strings.ToLower(string(x)), nil
	case bool:
		return strconv.FormatBool(x), nil
	case int:
		return strconv.Itoa(x), nil
	case int32:
		return strconv.FormatInt(int64(x), 10), nil
	case int64:
		return strconv.FormatInt(x, 10), nil
	case uint32:
		return strconv.FormatUint(uint64(x), 10), nil
	case uint64:
		return strconv.FormatUint(x, 10), nil
	case float32:
		return formatFloat(float64(x))
	case float64:
		return formatFloat(x)
	case json.Number:
		if _, err := x.Float64(); err != nil {
			return "", fmt.Errorf("odata: %q is not a number", string(x))
		}
		return string(x), nil
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano), nil
	case Date:
		return time.Time(x).Format(time.DateOnly), nil
	}
	return "", fmt.Errorf("odata: a %T cannot be written as a $filter literal", v)
}

// GUID marks a string to be written as a bare GUID literal.
type GUID string

// Date marks a time to be written as an Edm.Date literal (YYYY-MM-DD).
type Date time.Time

func formatFloat(f float64) (string, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("odata: %v cannot be written as a $filter literal", f)
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	return s, nil
}
