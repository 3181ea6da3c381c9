package odata

import (
	"bytes"
	"mime"
	"net/http"
	"net/textproto"
	"strconv"
	"strings"
)

// ParseBatchResponse is ReadBatchResponse for an answer held in memory.
// A well-formed answer (CRLF line endings, no preamble, parts with plain
// "Name: value" headers, as Dataverse and the simulator write them) is
// cut up in place; any other goes to ReadBatchResponse, which gives the
// same result or a precise error. Going through mime/multipart and
// textproto cost a bufio.Reader, a part reader and two header maps per
// operation: 1,000 of them for every $batch of creates (see
// BenchmarkParseBatchResponse). FuzzParseBatchResponse holds the two
// readers to the same answers.
func ParseBatchResponse(body []byte, contentType string) ([]BatchResponse, error) {
	if boundary, err := boundaryOf(contentType); err == nil {
		if out, ok := fastBatchResponse(body, boundary); ok {
			return out, nil
		}
	}
	return ReadBatchResponse(bytes.NewReader(body), contentType)
}

// fastBatchResponse reads body as readBatch and parseHTTPMessage would;
// ok is false for anything it does not take in exactly as they do.
func fastBatchResponse(body []byte, boundary string) (out []BatchResponse, ok bool) {
	parts, ok := splitParts(body, boundary)
	if !ok {
		return nil, false
	}
	in := interner{names: map[string]string{}, values: map[string]string{}}
	add := func(cs, cid string, payload []byte) bool {
		if len(out) == MaxBatchParts {
			return false // the general reader refuses more
		}
		r, ok := fastResponse(payload, in)
		if !ok {
			return false
		}
		r.ChangeSet, r.ContentID = cs, cid
		if r.ContentID == "" {
			r.ContentID = r.Header.Get("Content-ID")
		}
		out = append(out, r)
		return true
	}
	for _, p := range parts {
		ct, cid, content, ok := partHeader(p)
		if !ok {
			return nil, false
		}
		csb, isSet, ok := changeSetOf(ct)
		if !ok {
			return nil, false
		}
		if !isSet {
			if !add("", cid, content) {
				return nil, false
			}
			continue
		}
		inner, ok := splitParts(content, csb)
		if !ok {
			return nil, false
		}
		for _, ip := range inner {
			ict, icid, icontent, ok := partHeader(ip)
			if !ok {
				return nil, false
			}
			if _, nested, ok := changeSetOf(ict); !ok || nested {
				return nil, false // the general reader refuses nested change sets
			}
			if !add(csb, icid, icontent) {
				return nil, false
			}
		}
	}
	return out, true
}

// splitParts cuts b, which must open with "--boundary" CRLF, into the
// contents of its parts, up to the closing "--boundary--" line; what
// follows that line (the epilogue) is ignored, as mime/multipart ignores it.
func splitParts(b []byte, boundary string) ([][]byte, bool) {
	open := "--" + boundary + "\r\n"
	if !bytes.HasPrefix(b, []byte(open)) {
		return nil, false
	}
	b = b[len(open):]
	delim := []byte("\r\n--" + boundary)
	var parts [][]byte
	for {
		i := bytes.Index(b, delim)
		if i < 0 {
			return nil, false
		}
		parts = append(parts, b[:i])
		b = b[i+len(delim):]
		switch {
		case bytes.HasPrefix(b, []byte("\r\n")):
			b = b[2:]
		case bytes.HasPrefix(b, []byte("--")):
			// The closing line ends there, or at its line break: with
			// anything else on it mime/multipart refuses the body.
			if rest := b[2:]; len(rest) == 0 || bytes.HasPrefix(rest, []byte("\r\n")) {
				return parts, true
			}
			return nil, false
		default:
			return nil, false // padding after a boundary, or a boundary inside the content
		}
	}
}

// changeSetOf says whether a part's Content-Type opens a change set, and
// its boundary; ok is false for a change set without one.
func changeSetOf(contentType string) (boundary string, isSet, ok bool) {
	if !strings.Contains(strings.ToLower(contentType), "multipart") {
		return "", false, true
	}
	mt, params, _ := mime.ParseMediaType(contentType)
	if mt != "multipart/mixed" {
		return "", false, true
	}
	b := params["boundary"]
	return b, true, b != ""
}

// partHeader reads a MIME part's headers (only Content-Type and
// Content-ID matter) and returns its content.
func partHeader(p []byte) (contentType, contentID string, content []byte, ok bool) {
	seenType, seenID := false, false
	rest, ok := eachHeader(p, func(name, value []byte) {
		switch {
		case !seenType && bytes.EqualFold(name, []byte("Content-Type")):
			contentType, seenType = string(value), true
		case !seenID && bytes.EqualFold(name, []byte("Content-ID")):
			contentID, seenID = string(value), true
		}
	})
	return contentType, contentID, rest, ok
}

// fastResponse reads an application/http response: status line, headers,
// body with its trailing line breaks removed.
func fastResponse(payload []byte, in interner) (BatchResponse, bool) {
	payload = bytes.TrimLeft(payload, "\r\n")
	i := bytes.Index(payload, []byte("\r\n"))
	if i < 0 {
		return BatchResponse{}, false
	}
	line := payload[:i]
	if bytes.ContainsAny(line, "\r\n") {
		return BatchResponse{}, false
	}
	fields := strings.Fields(string(line))
	if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
		return BatchResponse{}, false
	}
	status, err := strconv.Atoi(fields[1])
	if err != nil || status < 100 || status > 999 {
		return BatchResponse{}, false
	}
	header := http.Header{}
	vals := make([]string, 0, 8) // one array for the values of the usual few headers
	rest, ok := eachHeader(payload[i+2:], func(name, value []byte) {
		k := in.name(name)
		if _, dup := header[k]; dup || len(vals) == cap(vals) {
			header[k] = append(header[k], in.value(value))
			return
		}
		vals = append(vals, in.value(value))
		header[k] = vals[len(vals)-1 : len(vals) : len(vals)]
	})
	if !ok {
		return BatchResponse{}, false
	}
	body := bytes.TrimRight(rest, "\r\n")
	if len(body) == 0 {
		body = nil
	}
	return BatchResponse{Status: status, Header: header, Body: body}, true
}

// eachHeader calls fn for each "Name: value" line of b up to the empty
// line, and returns what follows it. ok is false for a line textproto
// would read otherwise or refuse: a folded or bare-LF line, a name that
// is not letters, digits and hyphens, a control character in a value,
// no empty line.
func eachHeader(b []byte, fn func(name, value []byte)) (rest []byte, ok bool) {
	for {
		i := bytes.Index(b, []byte("\r\n"))
		if i < 0 {
			return nil, false
		}
		line := b[:i]
		b = b[i+2:]
		if len(line) == 0 {
			return b, true
		}
		colon := bytes.IndexByte(line, ':')
		if colon <= 0 {
			return nil, false
		}
		name := line[:colon]
		for _, c := range name {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return nil, false
			}
		}
		value := bytes.Trim(line[colon+1:], " \t")
		for _, c := range value {
			if c < ' ' && c != '\t' || c == 0x7f {
				return nil, false
			}
		}
		fn(name, value)
	}
}

// interner shares, within one answer, the strings of header names (in
// canonical form) and of the values every operation repeats (OData-Version,
// Content-Type, Preference-Applied): a thousand answers then hold a few
// copies of them instead of a thousand.
type interner struct{ names, values map[string]string }

// internMax bounds what an answer interns; values that differ by
// operation (ETags, URLs) fill it and are then copied as they are.
const internMax = 64

func (in interner) name(b []byte) string {
	if s, ok := in.names[string(b)]; ok {
		return s
	}
	s := textproto.CanonicalMIMEHeaderKey(string(b))
	if len(in.names) < internMax {
		in.names[string(b)] = s
	}
	return s
}

func (in interner) value(b []byte) string {
	if s, ok := in.values[string(b)]; ok {
		return s
	}
	s := string(b)
	if len(in.values) < internMax {
		in.values[s] = s
	}
	return s
}
