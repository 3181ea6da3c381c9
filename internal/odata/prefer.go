package odata

import (
	"net/http"
	"strconv"
	"strings"
)

// Prefer is what a request asked for in its Prefer headers.
type Prefer struct {
	MaxPageSize          int // 0 = not asked
	ReturnRepresentation bool
	TrackChanges         bool
	ContinueOnError      bool
	IncludeAnnotations   string // unquoted, e.g. "*" or "OData.Community.Display.V1.FormattedValue"
}

// ParsePrefer reads every Prefer header; each may list several preferences
// separated by commas (commas inside quotes do not split). Preference names
// are case-insensitive and accepted with or without the "odata." prefix
// (OData 4.01). Unknown or malformed preferences are ignored, as RFC 7240
// asks.
func ParsePrefer(h http.Header) Prefer {
	var p Prefer
	for _, line := range h.Values("Prefer") {
		for _, item := range splitOutsideQuotes(line, ',') {
			// A preference may carry parameters after ';'; we need none.
			item = splitOutsideQuotes(item, ';')[0]
			name, value, _ := strings.Cut(item, "=")
			name = strings.ToLower(strings.TrimSpace(name))
			value = unquote(strings.TrimSpace(value))
			switch strings.TrimPrefix(name, "odata.") {
			case "maxpagesize":
				if n, err := strconv.Atoi(value); err == nil && n > 0 {
					p.MaxPageSize = n
				}
			case "return":
				p.ReturnRepresentation = strings.EqualFold(value, "representation")
			case "track-changes":
				p.TrackChanges = true
			case "continue-on-error":
				p.ContinueOnError = value == "" || strings.EqualFold(value, "true")
			case "include-annotations":
				p.IncludeAnnotations = value
			}
		}
	}
	return p
}

// splitOutsideQuotes splits s at sep, except inside double quotes.
func splitOutsideQuotes(s string, sep byte) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\\' && inQuote:
			i++
		case s[i] == '"':
			inQuote = !inQuote
		case s[i] == sep && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

func unquote(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		if u, err := strconv.Unquote(s); err == nil {
			return u
		}
		return s[1 : len(s)-1]
	}
	return s
}
