package odata

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"slices"
	"strconv"
	"strings"
)

// This file is the multipart/mixed $batch codec of OData 4.0 §11.7 as Dataverse speaks it:
// a batch is a multipart/mixed body whose parts are either one application/http request
// (or response) or a nested multipart/mixed change set of them. The same codec serves the
// simulator (reads requests, writes responses) and the client (the reverse), so both sides
// are tested against each other.

// BatchRequest is one operation of a $batch request.
type BatchRequest struct {
	ChangeSet string // boundary of the change set holding it; "" when outside a change set
	ContentID string // Content-ID header of the part (referenced as $ContentID in later URLs)
	Method    string
	URL       string
	Header    http.Header
	Body      []byte
}

// BatchResponse is one operation's answer inside a $batch response.
type BatchResponse struct {
	ChangeSet string
	ContentID string
	Status    int
	Header    http.Header
	Body      []byte
}

// MaxBatchParts bounds how many operations a reader accepts, so a hostile body cannot make
// it allocate without limit. Dataverse itself refuses more than 1,000 requests per batch;
// that check (with its own error) belongs to the server, this is only a safety net.
const MaxBatchParts = 10000

const crlf = "\r\n"

// changeSetBoundary is the MIME boundary of a change set: its identifier itself, so that
// what ReadBatchRequest returns writes back unchanged.
func changeSetBoundary(id string) string { return id }

// validBoundary reports whether b can be used as a MIME boundary (RFC 2046: 1-70 chars from
// a safe set, not ending in space). We are stricter: no spaces at all, so it never needs quoting.
func validBoundary(b string) bool {
	if len(b) == 0 || len(b) > 70 {
		return false
	}
	for _, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case strings.ContainsRune("'()+_,-./:=?", c):
		default:
			return false
		}
	}
	return true
}

// WriteBatchRequest writes reqs as a multipart/mixed body delimited by boundary (the caller
// sends Content-Type "multipart/mixed; boundary=<boundary>"). Consecutive requests with the
// same non-empty ChangeSet form one change set.
func WriteBatchRequest(w io.Writer, boundary string, reqs []BatchRequest) error {
	bw := bufio.NewWriter(w)
	err := writeBatch(bw, boundary, len(reqs), func(i int) string { return reqs[i].ChangeSet },
		func(buf *bufio.Writer, i int) error {
			r := reqs[i]
			if r.Method == "" || r.URL == "" {
				return fmt.Errorf("batch request %d: method and URL are required", i+1)
			}
			if strings.ContainsAny(r.Method+r.URL, " \r\n") {
				return fmt.Errorf("batch request %d: method %q or URL %q contains a space or line break; escape the URL", i+1, r.Method, r.URL)
			}
			if err := bodyFits(r.Body, boundary, r.ChangeSet); err != nil {
				return fmt.Errorf("batch request %d: %w", i+1, err)
			}
			writePartHeader(buf, r.ContentID)
			writeStrings(buf, r.Method, " ", r.URL, " HTTP/1.1"+crlf)
			if err := writeHeader(buf, r.Header, i); err != nil {
				return err
			}
			buf.WriteString(crlf)
			buf.Write(r.Body)
			return nil
		})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// WriteBatchResponse writes resps as a multipart/mixed body delimited by boundary (the
// server sends Content-Type "multipart/mixed; boundary=<boundary>").
func WriteBatchResponse(w io.Writer, boundary string, resps []BatchResponse) error {
	bw := bufio.NewWriter(w)
	err := writeBatch(bw, boundary, len(resps), func(i int) string { return resps[i].ChangeSet },
		func(buf *bufio.Writer, i int) error {
			r := resps[i]
			if r.Status < 100 || r.Status > 999 {
				return fmt.Errorf("batch response %d: status %d is not a 3-digit HTTP status", i+1, r.Status)
			}
			if err := bodyFits(r.Body, boundary, r.ChangeSet); err != nil {
				return fmt.Errorf("batch response %d: %w", i+1, err)
			}
			writePartHeader(buf, r.ContentID)
			text := http.StatusText(r.Status)
			if text == "" {
				text = "Status " + strconv.Itoa(r.Status)
			}
			writeStrings(buf, "HTTP/1.1 ", strconv.Itoa(r.Status), " ", text, crlf)
			if err := writeHeader(buf, r.Header, i); err != nil {
				return err
			}
			buf.WriteString(crlf)
			buf.Write(r.Body)
			return nil
		})
	if err != nil {
		return err
	}
	return bw.Flush()
}

// writeBatch writes the multipart skeleton and calls part for each operation.
func writeBatch(buf *bufio.Writer, boundary string, n int, changeSet func(int) string,
	part func(buf *bufio.Writer, i int) error) error {
	if !validBoundary(boundary) {
		return fmt.Errorf("batch boundary %q is invalid: use 1-70 letters, digits or '()+_,-./:=?", boundary)
	}
	for i := 0; i < n; {
		cs := changeSet(i)
		writeStrings(buf, "--", boundary, crlf)
		if cs == "" {
			if err := part(buf, i); err != nil {
				return err
			}
			buf.WriteString(crlf)
			i++
			continue
		}
		csb := changeSetBoundary(cs)
		if !validBoundary(csb) || csb == boundary {
			return fmt.Errorf("batch request %d: change set %q does not give a valid, distinct boundary", i+1, cs)
		}
		writeStrings(buf, "Content-Type: multipart/mixed; boundary=", csb, crlf+crlf)
		for ; i < n && changeSet(i) == cs; i++ {
			writeStrings(buf, "--", csb, crlf)
			if err := part(buf, i); err != nil {
				return err
			}
			buf.WriteString(crlf)
		}
		writeStrings(buf, "--", csb, "--"+crlf)
	}
	writeStrings(buf, "--", boundary, "--"+crlf)
	return nil
}

// bodyFits refuses a part body that holds the delimiter of the batch or
// of its change set: written as it is, the body would end the part early
// and the reader would find a broken part where the body went on.
func bodyFits(body []byte, boundaries ...string) error {
	for _, b := range boundaries {
		if b != "" && bytes.Contains(body, []byte("--"+b)) {
			return fmt.Errorf("its body holds the boundary %q, which would end the part early; use another boundary", b)
		}
	}
	return nil
}

func writePartHeader(buf *bufio.Writer, contentID string) {
	buf.WriteString("Content-Type: application/http" + crlf)
	buf.WriteString("Content-Transfer-Encoding: binary" + crlf)
	if contentID != "" && !strings.ContainsAny(contentID, "\r\n") {
		writeStrings(buf, "Content-ID: ", contentID, crlf)
	}
	buf.WriteString(crlf)
}

// writeStrings writes ss one after the other: concatenated first, every
// header line of a 1,000-part body was a string allocated and dropped.
func writeStrings(buf *bufio.Writer, ss ...string) {
	for _, s := range ss {
		buf.WriteString(s)
	}
}

// writeHeader writes h sorted by name (deterministic output), keeping the names' spelling.
func writeHeader(buf *bufio.Writer, h http.Header, i int) error {
	var small [8]string // the usual few headers: no allocation
	keys := small[:0]
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "" || strings.ContainsAny(k, " :\r\n") {
			return fmt.Errorf("batch part %d: header name %q is invalid", i+1, k)
		}
		for _, v := range h[k] {
			if strings.ContainsAny(v, "\r\n") {
				return fmt.Errorf("batch part %d: header %s contains a line break", i+1, k)
			}
			writeStrings(buf, k, ": ", v, crlf)
		}
	}
	return nil
}

// ReadBatchRequest parses a $batch request body; contentType is the request's Content-Type
// header (multipart/mixed with a boundary).
func ReadBatchRequest(r io.Reader, contentType string) ([]BatchRequest, error) {
	var out []BatchRequest
	err := readBatch(r, contentType, func(cs, contentID string, hdr textproto.MIMEHeader, payload []byte, n int) error {
		method, target, header, body, err := parseHTTPMessage(payload, true)
		if err != nil {
			return fmt.Errorf("batch part %d: %w", n, err)
		}
		if contentID == "" {
			contentID = header.Get("Content-ID")
		}
		out = append(out, BatchRequest{ChangeSet: cs, ContentID: contentID, Method: method, URL: target, Header: header, Body: body})
		return nil
	})
	return out, err
}

// ReadBatchResponse parses a $batch response body; contentType is the response's
// Content-Type header. As DynamicsWebApi does, a missing boundary parameter is recovered
// from the body's first line.
func ReadBatchResponse(r io.Reader, contentType string) ([]BatchResponse, error) {
	var out []BatchResponse
	err := readBatch(r, contentType, func(cs, contentID string, hdr textproto.MIMEHeader, payload []byte, n int) error {
		statusText, _, header, body, err := parseHTTPMessage(payload, false)
		if err != nil {
			return fmt.Errorf("batch part %d: %w", n, err)
		}
		status, _ := strconv.Atoi(statusText)
		if contentID == "" {
			contentID = header.Get("Content-ID")
		}
		out = append(out, BatchResponse{ChangeSet: cs, ContentID: contentID, Status: status, Header: header, Body: body})
		return nil
	})
	return out, err
}

// ErrBatchFormat marks a $batch body that is not valid multipart/mixed; errors.Is works on
// every error the readers return for malformed input.
var ErrBatchFormat = errors.New("malformed $batch body")

type partFunc func(changeSet, contentID string, hdr textproto.MIMEHeader, payload []byte, n int) error

func readBatch(r io.Reader, contentType string, fn partFunc) error {
	boundary, err := boundaryOf(contentType)
	br := bufio.NewReader(r)
	if err != nil {
		// Recover the boundary from the first line ("--batch_x"), as lenient peers do.
		first, perr := br.Peek(80)
		line, _, _ := strings.Cut(string(first), "\n")
		line = strings.TrimRight(line, "\r")
		if !strings.HasPrefix(line, "--") || perr != nil && len(first) == 0 {
			return fmt.Errorf("%w: %v", ErrBatchFormat, err)
		}
		boundary = strings.TrimPrefix(line, "--")
	}
	mr := multipart.NewReader(br, boundary)
	n := 0
	for {
		p, err := mr.NextRawPart()
		if errors.Is(err, io.EOF) {
			if n == 0 {
				return fmt.Errorf("%w: no parts found for boundary %q", ErrBatchFormat, boundary)
			}
			return nil
		}
		if err != nil {
			return fmt.Errorf("%w: part %d: %v", ErrBatchFormat, n+1, err)
		}
		ct := p.Header.Get("Content-Type")
		mt, params, _ := mime.ParseMediaType(ct)
		if mt == "multipart/mixed" {
			csb := params["boundary"]
			if csb == "" {
				return fmt.Errorf("%w: part %d: change set without boundary", ErrBatchFormat, n+1)
			}
			cr := multipart.NewReader(p, csb)
			inner := 0
			for {
				cp, err := cr.NextRawPart()
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					return fmt.Errorf("%w: change set %q part %d: %v", ErrBatchFormat, csb, inner+1, err)
				}
				if cmt, _, _ := mime.ParseMediaType(cp.Header.Get("Content-Type")); cmt == "multipart/mixed" {
					return fmt.Errorf("%w: change set %q contains a nested change set; change sets cannot nest", ErrBatchFormat, csb)
				}
				n++
				inner++
				if n > MaxBatchParts {
					return fmt.Errorf("%w: more than %d parts", ErrBatchFormat, MaxBatchParts)
				}
				payload, err := io.ReadAll(cp)
				if err != nil {
					return fmt.Errorf("%w: part %d: %v", ErrBatchFormat, n, err)
				}
				if err := fn(csb, cp.Header.Get("Content-ID"), cp.Header, payload, n); err != nil {
					return err
				}
			}
			if inner == 0 {
				return fmt.Errorf("%w: change set %q is empty", ErrBatchFormat, csb)
			}
			continue
		}
		n++
		if n > MaxBatchParts {
			return fmt.Errorf("%w: more than %d parts", ErrBatchFormat, MaxBatchParts)
		}
		payload, err := io.ReadAll(p)
		if err != nil {
			return fmt.Errorf("%w: part %d: %v", ErrBatchFormat, n, err)
		}
		if err := fn("", p.Header.Get("Content-ID"), p.Header, payload, n); err != nil {
			return err
		}
	}
}

func boundaryOf(contentType string) (string, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", fmt.Errorf("content type %q: %v", contentType, err)
	}
	if mt != "multipart/mixed" {
		return "", fmt.Errorf("content type %q is not multipart/mixed", contentType)
	}
	b := params["boundary"]
	if b == "" {
		return "", fmt.Errorf("content type %q has no boundary parameter", contentType)
	}
	return b, nil
}

// parseHTTPMessage splits an application/http payload into its start line, headers and body.
// For a request the start line is "METHOD URL HTTP/1.1"; for a response "HTTP/1.1 CODE TEXT"
// and the first result is the status code. Line endings may be CRLF or LF.
func parseHTTPMessage(payload []byte, request bool) (first, second string, header http.Header, body []byte, err error) {
	// Tolerate blank lines before the start line.
	payload = bytes.TrimLeft(payload, "\r\n")
	// The payload is in memory: a small buffer avoids allocating 4 KB for every part.
	tr := textproto.NewReader(bufio.NewReaderSize(bytes.NewReader(payload), 512))
	line, err := tr.ReadLine()
	if err != nil {
		return "", "", nil, nil, fmt.Errorf("%w: missing HTTP start line", ErrBatchFormat)
	}
	fields := strings.Fields(line)
	if request {
		if len(fields) < 2 || len(fields) > 3 || len(fields) == 3 && !strings.HasPrefix(fields[2], "HTTP/") {
			return "", "", nil, nil, fmt.Errorf("%w: request line %q is not \"METHOD URL HTTP/1.1\"", ErrBatchFormat, trimForError(line))
		}
		first, second = strings.ToUpper(fields[0]), fields[1]
	} else {
		if len(fields) < 2 || !strings.HasPrefix(fields[0], "HTTP/") {
			return "", "", nil, nil, fmt.Errorf("%w: status line %q is not \"HTTP/1.1 CODE TEXT\"", ErrBatchFormat, trimForError(line))
		}
		code, cerr := strconv.Atoi(fields[1])
		if cerr != nil || code < 100 || code > 999 {
			return "", "", nil, nil, fmt.Errorf("%w: status line %q has no valid status code", ErrBatchFormat, trimForError(line))
		}
		first = fields[1]
	}
	mh, err := tr.ReadMIMEHeader()
	if err != nil && !errors.Is(err, io.EOF) {
		return "", "", nil, nil, fmt.Errorf("%w: headers: %v", ErrBatchFormat, err)
	}
	header = http.Header(mh)
	if header == nil {
		header = http.Header{}
	}
	rest, _ := io.ReadAll(tr.R)
	body = bytes.TrimRight(rest, "\r\n")
	if len(body) == 0 {
		body = nil
	}
	return first, second, header, body, nil
}

func trimForError(s string) string {
	if len(s) > 100 {
		return s[:100] + "…"
	}
	return s
}
