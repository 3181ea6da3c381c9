package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/coupler/coupler/internal/odata"
)

// Record is one row as JSON values; numbers are json.Number so that money
// and large integers keep their precision.
type Record map[string]any

// ETag is the record's "@odata.etag" ("" when absent).
func (r Record) ETag() string { s, _ := r["@odata.etag"].(string); return s }

// String returns a string column ("" when absent or not a string).
func (r Record) String(col string) string { s, _ := r[col].(string); return s }

// Key addresses a record: a primary key GUID or an alternate key.
type Key string

// ID addresses a record by its primary key.
func ID(id string) Key { return Key(id) }

// AlternateKey addresses a record by alternate-key columns, e.g.
// AlternateKey(map[string]any{"accountnumber": "A1"}) → accountnumber='A1'.
// Strings are quoted (a quote is doubled); numbers and booleans are not.
func AlternateKey(cols map[string]any) Key {
	names := make([]string, 0, len(cols))
	for n := range cols {
		names = append(names, n)
	}
	sort.Strings(names)
	parts := make([]string, 0, len(names))
	for _, n := range names {
		parts = append(parts, n+"="+literal(cols[n]))
	}
	return Key(strings.Join(parts, ","))
}

func literal(v any) string {
	switch x := v.(type) {
	case string:
		return "'" + strings.ReplaceAll(x, "'", "''") + "'"
	case nil:
		return "null"
	default:
		return fmt.Sprint(x)
	}
}

// path builds "accounts(key)"; alternate-key literals are percent-encoded so
// that spaces, '#' or '&' in a value cannot break the URL.
func path(set string, k Key) string {
	return set + "(" + escapeKey(string(k)) + ")"
}

func escapeKey(k string) string {
	return strings.NewReplacer("%", "%25", " ", "%20", "#", "%23", "&", "%26", "?", "%3F", "+", "%2B", "/", "%2F").Replace(k)
}

func marshal(body any) ([]byte, error) {
	if b, ok := body.([]byte); ok {
		return b, nil
	}
	if b, ok := body.(json.RawMessage); ok {
		return b, nil
	}
	var (
		b   []byte
		err error
	)
	switch m := body.(type) {
	case map[string]any:
		b, err = odata.Marshal(m)
	case Record:
		b, err = odata.Marshal(m)
	default:
		b, err = json.Marshal(body)
	}
	if err != nil {
		return nil, fmt.Errorf("dataverse: encoding the request body: %w", err)
	}
	return b, nil
}

func decodeRecord(b []byte) (Record, error) {
	r, err := odata.NewDecoder().Object(b)
	if err != nil {
		return nil, fmt.Errorf("dataverse: the answer is not a JSON object: %w", err)
	}
	return r, nil
}

// Retrieve reads one record, with only the given columns (nil = all).
func (c *Client) Retrieve(ctx context.Context, set string, k Key, columns ...string) (Record, error) {
	return c.RetrieveQuery(ctx, set, k, Query{Select: columns})
}

// RetrieveQuery reads one record with Select, Expand and Annotations of q
// (the other options do not apply to a single record).
func (c *Client) RetrieveQuery(ctx context.Context, set string, k Key, q Query) (Record, error) {
	one := Query{Select: q.Select, Expand: q.Expand}
	resp, err := c.Do(ctx, Request{Method: http.MethodGet, Path: path(set, k), Query: one.values(),
		Header: Query{Annotations: q.Annotations}.prefer(false)})
	if err != nil {
		return nil, err
	}
	return decodeRecord(resp.Body)
}

var entityIDRE = regexp.MustCompile(`\(([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\)\s*$`)

// EntityID extracts the GUID from an OData-EntityId header value
// (…/accounts(00000000-0000-0000-0000-000000000001)).
func EntityID(h http.Header) (string, bool) {
	v := h.Get("OData-EntityId")
	if v == "" {
		v = h.Get("Location")
	}
	m := entityIDRE.FindStringSubmatch(v)
	if m == nil {
		return "", false
	}
	return strings.ToLower(m[1]), true
}

// Create inserts a record and returns its id (from OData-EntityId).
func (c *Client) Create(ctx context.Context, set string, body any) (string, error) {
	b, err := marshal(body)
	if err != nil {
		return "", err
	}
	resp, err := c.Do(ctx, Request{Method: http.MethodPost, Path: set, Body: b})
	if err != nil {
		return "", err
	}
	if id, ok := EntityID(resp.Header); ok {
		return id, nil
	}
	if r, err := decodeRecord(resp.Body); err == nil {
		for k, v := range r {
			if s, ok := v.(string); ok && strings.HasSuffix(k, "id") && !strings.HasPrefix(k, "_") && entityIDRE.MatchString("("+s+")") {
				return strings.ToLower(s), nil
			}
		}
	}
	return "", fmt.Errorf("dataverse: POST %s answered %d without OData-EntityId; cannot tell the new record's id", set, resp.Status)
}

// Update changes an existing record. etag "" means any version (If-Match: *,
// so a missing record is ErrNotFound, never created); a stale etag gives
// ErrPreconditionFailed.
func (c *Client) Update(ctx context.Context, set string, k Key, body any, etag string) error {
	if etag == "" {
		etag = "*"
	}
	b, err := marshal(body)
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, Request{Method: http.MethodPatch, Path: path(set, k), Body: b, Header: http.Header{"If-Match": {etag}}})
	return err
}

// UpsertResult tells what an upsert did, when the service says so.
type UpsertResult struct {
	ID string // from OData-EntityId, "" if not given
}

// Upsert creates or updates the record with this key (id or alternate key).
// Because the key decides, retrying it is safe: the basis of exactly-once
// writes.
func (c *Client) Upsert(ctx context.Context, set string, k Key, body any) (UpsertResult, error) {
	b, err := marshal(body)
	if err != nil {
		return UpsertResult{}, err
	}
	resp, err := c.Do(ctx, Request{Method: http.MethodPatch, Path: path(set, k), Body: b})
	if err != nil {
		return UpsertResult{}, err
	}
	id, _ := EntityID(resp.Header)
	return UpsertResult{ID: id}, nil
}

// CreateOnly creates the record with this key and fails with
// ErrPreconditionFailed if it exists (If-None-Match: *).
func (c *Client) CreateOnly(ctx context.Context, set string, k Key, body any) error {
	b, err := marshal(body)
	if err != nil {
		return err
	}
	_, err = c.Do(ctx, Request{Method: http.MethodPatch, Path: path(set, k), Body: b, Header: http.Header{"If-None-Match": {"*"}}})
	return err
}

// Delete removes a record; etag "" deletes any version.
func (c *Client) Delete(ctx context.Context, set string, k Key, etag string) error {
	r := Request{Method: http.MethodDelete, Path: path(set, k)}
	if etag != "" {
		r.Header = http.Header{"If-Match": {etag}}
	}
	_, err := c.Do(ctx, r)
	return err
}

// Associate links two records through a collection-valued navigation
// property (e.g. systemuser → systemuserroles_association → role).
func (c *Client) Associate(ctx context.Context, set string, k Key, nav, targetSet string, target Key) error {
	b, _ := json.Marshal(map[string]string{"@odata.id": c.base.String() + path(targetSet, target)})
	_, err := c.Do(ctx, Request{Method: http.MethodPost, Path: path(set, k) + "/" + nav + "/$ref", Body: b})
	return err
}

// Disassociate removes such a link.
func (c *Client) Disassociate(ctx context.Context, set string, k Key, nav string, target Key) error {
	_, err := c.Do(ctx, Request{Method: http.MethodDelete, Path: path(set, k) + "/" + nav + "(" + escapeKey(string(target)) + ")/$ref"})
	return err
}

// WhoAmIResponse is the WhoAmI function's answer.
type WhoAmIResponse struct {
	BusinessUnitID string `json:"BusinessUnitId"`
	UserID         string `json:"UserId"`
	OrganizationID string `json:"OrganizationId"`
}

// WhoAmI returns the calling (or impersonated) user.
func (c *Client) WhoAmI(ctx context.Context) (WhoAmIResponse, error) {
	var w WhoAmIResponse
	resp, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "WhoAmI"})
	if err != nil {
		return w, err
	}
	if err := json.Unmarshal(resp.Body, &w); err != nil || w.UserID == "" {
		return w, fmt.Errorf("dataverse: WhoAmI answer has no UserId: %.200s", resp.Body)
	}
	return w, nil
}

// RetrieveVersion returns the organisation's version ("9.2.24011.00181").
func (c *Client) RetrieveVersion(ctx context.Context) (string, error) {
	resp, err := c.Do(ctx, Request{Method: http.MethodGet, Path: "RetrieveVersion"})
	if err != nil {
		return "", err
	}
	var v struct{ Version string }
	if err := json.Unmarshal(resp.Body, &v); err != nil || v.Version == "" {
		return "", fmt.Errorf("dataverse: RetrieveVersion answer has no Version: %.200s", resp.Body)
	}
	return v.Version, nil
}

// MajorMinor splits a version like "9.2.24011.00181" into 9 and 2.
func MajorMinor(version string) (major, minor int, err error) {
	parts := strings.SplitN(version, ".", 3)
	if len(parts) < 2 {
		return 0, 0, fmt.Errorf("dataverse: version %q is not major.minor[.build]", version)
	}
	if major, err = strconv.Atoi(parts[0]); err == nil {
		minor, err = strconv.Atoi(parts[1])
	}
	if err != nil {
		return 0, 0, fmt.Errorf("dataverse: version %q is not major.minor[.build]", version)
	}
	return major, minor, nil
}
