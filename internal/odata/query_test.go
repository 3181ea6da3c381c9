package odata

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseQuery(t *testing.T) {
	t.Parallel()
	v, err := url.ParseQuery("$select=name,accountnumber,_primarycontactid_value&$filter=statecode%20eq%200&$orderby=name%20desc,accountnumber" +
		"&$top=10&$skip=5&$count=true&$expand=primarycontactid($select=fullname,emailaddress1),Account_Tasks&$skiptoken=abc&company=CRONUS")
	require.NoError(t, err)
	q, err := ParseQuery(v)
	require.NoError(t, err)
	require.Equal(t, []string{"name", "accountnumber", "_primarycontactid_value"}, q.Select)
	require.Equal(t, "statecode eq 0", q.Filter.String())
	require.Equal(t, []OrderItem{{Property: "name", Desc: true}, {Property: "accountnumber"}}, q.OrderBy)
	require.Equal(t, 10, q.Top)
	require.Equal(t, 5, q.Skip)
	require.True(t, q.Count)
	require.Equal(t, []ExpandItem{{Property: "primarycontactid", Select: []string{"fullname", "emailaddress1"}}, {Property: "Account_Tasks"}}, q.Expand)
	require.Equal(t, "abc", q.SkipToken)

	q, err = ParseQuery(url.Values{})
	require.NoError(t, err)
	require.Equal(t, Query{Top: -1, Skip: -1}, q)

	q, err = ParseQuery(url.Values{"$select": {"*"}, "$deltatoken": {"919042!08/22/2017"}, "$format": {"json"}})
	require.NoError(t, err)
	require.Nil(t, q.Select)
	require.Equal(t, "919042!08/22/2017", q.DeltaToken)
}

func TestParseQueryErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		query, option, want string
	}{
		{"$top=-1", "$top", "non-negative"},
		{"$top=abc", "$top", "non-negative"},
		{"$skip=1.5", "$skip", "non-negative"},
		{"$top=1&$top=2", "$top", "specified 2 times"},
		{"$count=yes", "$count", "not a boolean"},
		{"$select=name,,x", "$select", "empty property"},
		{"$select=na%20me", "$select", "not a property name"},
		{"$orderby=name%20sideways", "$orderby", "not asc or desc"},
		{"$orderby=tolower(name)", "$orderby", "not a property name"},
		{"$orderby=", "$orderby", "property [asc|desc]"},
		{"$expand=lines($filter=a%20eq%201)", "$expand", "only $select"},
		{"$expand=lines($select=a", "$expand", "unbalanced"},
		{"$search=blue", "$search", "not supported"},
		{"$apply=groupby((name))", "$apply", "not supported"},
		{"$format=xml", "$format", "not supported"},
		{"$filter=name%20eq", "$filter", "syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			v, err := url.ParseQuery(tt.query)
			require.NoError(t, err)
			_, err = ParseQuery(v)
			var qe *QueryError
			require.True(t, errors.As(err, &qe), "want *QueryError, got %v", err)
			require.Equal(t, tt.option, qe.Option)
			require.Contains(t, qe.Message, tt.want)
		})
	}
}

func TestSortRecords(t *testing.T) {
	t.Parallel()
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	rs := []Record{
		{"id": 1, "name": "beta", "n": 2, "at": t0.Add(time.Hour)},
		{"id": 2, "name": nil, "n": 1, "at": t0},
		{"id": 3, "name": "Alpha", "n": 2, "at": "2024-01-01T00:30:00Z"},
		{"id": 4, "name": "alpha", "n": 3},
		{"id": 5, "name": "Beta", "n": 1.5, "c": Record{"x": "z"}},
	}
	ids := func() []any {
		var out []any
		for _, r := range rs {
			out = append(out, r["id"])
		}
		return out
	}
	SortRecords(rs, []OrderItem{{Property: "name"}})
	require.Equal(t, []any{2, 3, 4, 5, 1}, ids())
	SortRecords(rs, []OrderItem{{Property: "n", Desc: true}, {Property: "id"}})
	require.Equal(t, []any{4, 1, 3, 5, 2}, ids())
	SortRecords(rs, []OrderItem{{Property: "at"}})
	require.Equal(t, []any{4, 5, 2, 3, 1}, ids(), "nulls first, then time.Time and RFC 3339 strings together")
	SortRecords(rs, []OrderItem{{Property: "c/x", Desc: true}})
	require.Equal(t, 5, rs[0]["id"])
}

func TestSelectFields(t *testing.T) {
	t.Parallel()
	r := Record{"@odata.etag": `W/"1"`, "name": "A", "accountid": "x", "revenue": 1,
		"_owner_value": "o", "_owner_value@OData.Community.Display.V1.FormattedValue": "Owner"}
	got := SelectFields(r, []string{"name", "_owner_value"})
	require.Equal(t, Record{"@odata.etag": `W/"1"`, "name": "A", "_owner_value": "o",
		"_owner_value@OData.Community.Display.V1.FormattedValue": "Owner"}, got)
	all := SelectFields(r, nil)
	require.Equal(t, r, all)
	all["name"] = "changed"
	require.Equal(t, "A", r["name"], "the input is never modified")
}

func TestParsePrefer(t *testing.T) {
	t.Parallel()
	h := http.Header{}
	h.Add("Prefer", `odata.maxpagesize=2, return=representation`)
	h.Add("Prefer", `odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname", odata.track-changes`)
	h.Add("Prefer", `odata.continue-on-error`)
	require.Equal(t, Prefer{MaxPageSize: 2, ReturnRepresentation: true, TrackChanges: true, ContinueOnError: true,
		IncludeAnnotations: "OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"}, ParsePrefer(h))

	h = http.Header{"Prefer": {`maxpagesize=50;foo=bar, Return=minimal, odata.include-annotations="*"`, `odata.maxpagesize=abc`}}
	require.Equal(t, Prefer{MaxPageSize: 50, IncludeAnnotations: "*"}, ParsePrefer(h))
	require.Equal(t, Prefer{}, ParsePrefer(http.Header{}))
}

func TestWriteAndDecodeError(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	WriteError(rec, http.StatusNotFound, "0x80040217", "account With Id = 1 Does Not Exist")
	require.Equal(t, http.StatusNotFound, rec.Code)
	require.Contains(t, rec.Header().Get("Content-Type"), "application/json")
	require.JSONEq(t, `{"error":{"code":"0x80040217","message":"account With Id = 1 Does Not Exist"}}`, rec.Body.String())
	e := DecodeError(rec.Code, rec.Body.Bytes())
	require.Equal(t, &Error{Status: 404, Code: "0x80040217", Message: "account With Id = 1 Does Not Exist"}, e)
	require.Equal(t, "HTTP 404 0x80040217: account With Id = 1 Does Not Exist", e.Error())

	tests := []struct {
		body string
		want Error
	}{
		{"<html><body>Bad gateway</body></html>", Error{Status: 502, Message: "<html><body>Bad gateway</body></html>"}},
		{"", Error{Status: 502, Message: "Bad Gateway"}},
		{`{"code":"X","message":"flat"}`, Error{Status: 502, Code: "X", Message: "flat"}},
		{"\xff\xfe broken", Error{Status: 502, Message: "\uFFFD broken"}},
		{`{"error":{}}`, Error{Status: 502, Message: `{"error":{}}`}},
	}
	for _, tt := range tests {
		require.Equal(t, &tt.want, DecodeError(502, []byte(tt.body)), tt.body)
	}
	long := DecodeError(500, []byte(strings.Repeat("é", 1000)))
	require.LessOrEqual(t, len(long.Message), maxErrorText+len("…"))
	require.Equal(t, "HTTP 599: Internal", (&Error{Status: 599, Message: "Internal"}).Error())
}

// FuzzParseQuery checks that no query string makes ParseQuery, ParsePrefer
// or DecodeError panic, and that ParseQuery only refuses with *QueryError.
func FuzzParseQuery(f *testing.F) {
	for _, s := range []string{
		"$select=name&$filter=name%20eq%20'x'&$top=5", "$expand=a($select=b),c", "$orderby=a%20desc,b",
		"$filter=Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2)&@p1='a'&@p2=[\"x\"]",
		"$filter=a%20eq%20@x", "$expand=a(", "$count=true&$skiptoken=abc", "$top=99999999999999999999",
		"$filter=@a&@a=@a", "$orderby=@o&@o=@o%20desc",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		v, err := url.ParseQuery(raw)
		if err != nil {
			return
		}
		if _, err := ParseQuery(v); err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("ParseQuery(%q) error is %T, want *QueryError: %v", raw, err, err)
			}
		}
		_ = ParsePrefer(http.Header{"Prefer": {raw}})
		_ = DecodeError(400, []byte(raw))
	})
}
