package odata

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var sample = Record{
	"accountid":               "7b0a3f12-6c4e-4d8a-9f1b-2c5d8e9a0b13",
	"name":                    "Adatum Corporation",
	"accountnumber":           "10000",
	"revenue":                 125000.5,
	"numberofemployees":       250,
	"statecode":               0,
	"creditonhold":            false,
	"emailaddress1":           "info@adatum.example",
	"_parentaccountid_value":  nil,
	"_primarycontactid_value": "AAAAAAAA-0000-0000-0000-000000000001",
	"modifiedon":              time.Date(2024, 5, 1, 10, 0, 0, 0, time.UTC),
	"createdon":               "2024-01-15T08:30:00Z",
	"orderDate":               "2024-02-03",
	"big":                     json.Number("12345678901234"),
	"primarycontactid":        Record{"fullname": "Robert Townes", "emailaddress1": "robert@adatum.example"},
}

func TestMatch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter     string
		ignoreCase bool
		want       bool
	}{
		{"name eq 'Adatum Corporation'", false, true},
		{"name eq 'adatum corporation'", false, false},
		{"name eq 'adatum corporation'", true, true},
		{"name ne 'Trey Research'", false, true},
		{"revenue gt 100000 and numberofemployees le 250", false, true},
		{"revenue gt 125000.5", false, false},
		{"revenue ge 125000.5", false, true},
		{"numberofemployees lt 250.5", false, true},
		{"statecode eq 0 or statecode eq 1", false, true},
		{"not (statecode eq 0)", false, false},
		{"not contains(name,'Trey')", false, true},
		{"creditonhold eq false", false, true},
		{"not creditonhold", false, true},
		{"_parentaccountid_value eq null", false, true},
		{"_parentaccountid_value ne null", false, false},
		{"_parentaccountid_value gt 'a'", false, false},
		{"missingfield eq null", false, true},
		{"_primarycontactid_value eq aaaaaaaa-0000-0000-0000-000000000001", false, true},
		{"accountid eq 7B0A3F12-6C4E-4D8A-9F1B-2C5D8E9A0B13", false, true},
		{"contains(name,'datum')", false, true},
		{"contains(name,'DATUM')", false, false},
		{"contains(name,'DATUM')", true, true},
		{"startswith(name,'adat')", true, true},
		{"startswith(name,'adat')", false, false},
		{"endswith(emailaddress1,'.example')", false, true},
		{"contains(tolower(name),'adatum')", false, true},
		{"toupper(name) eq 'ADATUM CORPORATION'", false, true},
		{"length(accountnumber) eq 5", false, true},
		{"concat(accountnumber,'-x') eq '10000-x'", false, true},
		{"indexof(name,'Corp') eq 7", false, true},
		{"substring(name,7) eq 'Corporation'", false, true},
		{"substring(name,0,6) eq 'Adatum'", false, true},
		{"trim(' a ') eq 'a'", false, true},
		{"modifiedon gt 2024-04-30T00:00:00Z", false, true},
		{"modifiedon gt 2024-05-01T10:00:00.000Z", false, false},
		{"modifiedon ge 2024-05-01T12:00:00+02:00", false, true},
		{"createdon lt 2024-01-15T08:30:01Z", false, true},
		{"createdon ge 2024-01-15", false, true},
		{"orderDate eq 2024-02-03", false, true},
		{"orderDate gt 2024-02-03", false, false},
		{"year(modifiedon) eq 2024 and month(modifiedon) eq 5 and day(createdon) eq 15", false, true},
		{"hour(modifiedon) eq 10 and minute(modifiedon) eq 0 and second(modifiedon) eq 0", false, true},
		{"modifiedon gt '2024-01-01T00:00:00Z'", false, true},
		{"big eq 12345678901234", false, true},
		{"round(revenue) eq 125001 and floor(revenue) eq 125000 and ceiling(revenue) eq 125001", false, true},
		{"accountnumber in ('20000','10000')", false, true},
		{"accountnumber in ('20000')", false, false},
		{"_parentaccountid_value in (null)", false, true},
		{"primarycontactid/fullname eq 'Robert Townes'", false, true},
		{"primarycontactid/missing eq null", false, true},
		{"(name eq 'x' or name eq 'Adatum Corporation') and statecode eq 0", false, true},
		{"Name EQ 'x' OR statecode eq 0", false, true},
		{"name eq 'O''Brien'", false, false},
		{"true", false, true},
		{"false or true", false, true},
		{"'Adatum Corporation' eq name", false, true},
		{"100 lt numberofemployees", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFilter(tt.filter)
			require.NoError(t, err)
			f.IgnoreCase = tt.ignoreCase
			got, err := f.Match(sample)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestMatchQuotedString(t *testing.T) {
	t.Parallel()
	f, err := ParseFilter("name eq 'O''Brien' and contains(name,'''')")
	require.NoError(t, err)
	ok, err := f.Match(Record{"name": "O'Brien"})
	require.NoError(t, err)
	require.True(t, ok)
}

func TestUnderscoreInsideStringIsKept(t *testing.T) {
	t.Parallel()
	f, err := ParseFilter("name eq '_x _y' and _a_value eq 'b_c'")
	require.NoError(t, err)
	ok, err := f.Match(Record{"name": "_x _y", "_a_value": "b_c"})
	require.NoError(t, err)
	require.True(t, ok)
	require.Equal(t, []string{"name", "_a_value"}, f.Properties())
}

func TestParseFilterErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ filter, want string }{
		{"", "empty"},
		{"name eq", "syntax error"},
		{"name eq 'x", "syntax error"},
		{"(name eq 'x'", "syntax error"},
		{"name", "syntax error"},
		{"name eq 'x' and 5", "expected a boolean"},
		{"tags/any(t:t eq 'x')", "lambda"},
		{"flags has 'x'", "has operator"},
		{"a eq duration'PT2H'", "duration"},
		{"a eq 08:00:00", "time-of-day"},
		{"a eq @p1", "parameter alias"},
		{"a add 1 eq 2", "arithmetic operator add is not supported"},
		{"now() gt modifiedon", "function now is not supported"},
		{"geo.distance(a,b) lt 5", "not supported"},
		{"name eq 5 eq 6", "cannot be compared"},
		{"name gt true", "only supports eq and ne"},
		{"a eq 2024-13-45T00:00:00Z", "not valid"},
		{"a eq 2024-02-31", "not valid"},
		{"contains(name)", "argument"},
		{"a in (b)", "list of literals"},
		{"'a'", "syntax error"},
		{"a eq " + strings.Repeat("x", MaxFilterLength), "at most"},
		{"a eq " + underscoreMark, "reserved"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFilter(tt.filter)
			require.Nil(t, f)
			var qe *QueryError
			require.ErrorAs(t, err, &qe)
			require.Equal(t, "$filter", qe.Option)
			require.Contains(t, err.Error(), tt.want)
			if !strings.Contains(tt.filter, underscoreMark) {
				require.NotContains(t, err.Error(), underscoreMark)
			}
		})
	}
}

func TestMatchTypeErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		rec    Record
		want   string
	}{
		{"name eq 5", Record{"name": "Adatum"}, "property name holds a string ('Adatum')"},
		{"revenue gt 'abc'", Record{"revenue": 5}, "property revenue holds a number"},
		{"modifiedon gt 2024-01-01T00:00:00Z", Record{"modifiedon": "yesterday"}, `"yesterday" is not a date-time`},
		{"contains(revenue,'1')", Record{"revenue": 5}, "contains needs a string"},
		{"address eq 'x'", Record{"address": map[string]any{"city": "x"}}, "structured value"},
		{"year(name) eq 2024", Record{"name": "x"}, "year needs a date-time"},
		{"a eq 1", Record{"a": struct{}{}}, "cannot compare"},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFilter(tt.filter)
			require.NoError(t, err)
			_, err = f.Match(tt.rec)
			var qe *QueryError
			require.True(t, errors.As(err, &qe), "want *QueryError, got %v", err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestProperties(t *testing.T) {
	t.Parallel()
	f, err := ParseFilter("contains(name,'x') or (_a_value eq null and primarycontactid/fullname ne 'y' and name ne 'z')")
	require.NoError(t, err)
	require.Equal(t, []string{"name", "_a_value", "primarycontactid/fullname"}, f.Properties())
}

func TestEqualities(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		want   map[string]any
	}{
		{"number eq '10000'", map[string]any{"number": "10000"}},
		{"id eq 7B0A3F12-6C4E-4D8A-9F1B-2C5D8E9A0B13 and statecode eq 1 and x gt 5", map[string]any{"id": "7b0a3f12-6c4e-4d8a-9f1b-2c5d8e9a0b13", "statecode": int64(1)}},
		{"1.5 eq price and active eq true and d eq 2024-01-02 and n eq null", map[string]any{"price": 1.5, "active": true, "d": "2024-01-02", "n": nil}},
		{"a eq 1 or b eq 2", map[string]any{}},
		{"(a eq 1 and b eq 2) and not (c eq 3)", map[string]any{"a": int64(1), "b": int64(2)}},
		{"tolower(a) eq 'x'", map[string]any{}},
		{"t eq 2024-01-02T03:04:05Z", map[string]any{"t": time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC)}},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		require.NoError(t, err)
		require.Equal(t, tt.want, f.Equalities(), tt.filter)
	}
}

func TestOneOf(t *testing.T) {
	t.Parallel()
	tests := []struct {
		filter string
		prop   string
		want   []any // nil: not the shape
	}{
		{"id eq 7B0A3F12-6C4E-4D8A-9F1B-2C5D8E9A0B13", "id", []any{"7b0a3f12-6c4e-4d8a-9f1b-2c5d8e9a0b13"}},
		{"id eq 'a' or id eq 'b' or (id eq 'c')", "id", []any{"a", "b", "c"}},
		{"'a' eq id or id eq 'b'", "id", []any{"a", "b"}},
		{"n eq 1 or n eq null", "n", []any{int64(1), nil}},
		{"id eq 'a' or other eq 'b'", "", nil},
		{"id eq 'a' and id eq 'b'", "", nil},
		{"id eq 'a' or id ne 'b'", "", nil},
		{"id eq 'a' or not (id eq 'b')", "", nil},
		{"tolower(id) eq 'a' or id eq 'b'", "", nil},
		{"id eq other or id eq 'b'", "", nil},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		require.NoError(t, err)
		prop, vals, ok := f.OneOf()
		require.Equal(t, tt.want != nil, ok, tt.filter)
		if ok {
			require.Equal(t, tt.prop, prop, tt.filter)
			require.Equal(t, tt.want, vals, tt.filter)
		}
	}
}

func TestLower(t *testing.T) {
	t.Parallel()
	ts := time.Date(2019, 8, 18, 20, 5, 51, 603000000, time.UTC)
	tests := []struct {
		filter    string
		prop      string
		want      any
		inclusive bool
		ok        bool
	}{
		{"lastModifiedDateTime gt 2019-08-18T20:05:51.603Z", "lastModifiedDateTime", ts, false, true},
		{"statecode eq 0 and modifiedon ge 2019-08-18T20:05:51.603Z", "modifiedon", ts, true, true},
		{"2019-08-18T20:05:51.603Z lt modifiedon", "modifiedon", ts, false, true},
		{"2019-08-18T20:05:51.603Z le modifiedon", "modifiedon", ts, true, true},
		{"modifiedon lt 2019-08-18T20:05:51.603Z", "modifiedon", nil, false, false},
		{"modifiedon gt 2019-08-18T20:05:51.603Z or a eq 1", "modifiedon", nil, false, false},
		{"other gt 5", "modifiedon", nil, false, false},
		{"versionnumber gt 100", "versionnumber", int64(100), false, true},
	}
	for _, tt := range tests {
		f, err := ParseFilter(tt.filter)
		require.NoError(t, err)
		v, inc, ok := f.Lower(tt.prop)
		require.Equal(t, tt.ok, ok, tt.filter)
		require.Equal(t, tt.want, v, tt.filter)
		require.Equal(t, tt.inclusive, inc, tt.filter)
	}
}

func TestOrAcrossProperties(t *testing.T) {
	t.Parallel()
	tests := map[string]bool{
		"a eq 1 or a eq 2":                       false,
		"(a eq 1 or a eq 2) and b eq 3":          false,
		"a eq 1 or b eq 2":                       true,
		"a eq 1 or (a eq 2 or b eq 3)":           true,
		"a eq 1 and b eq 2":                      false,
		"contains(a,'x') or startswith(a,'y')":   false,
		"not (a eq 1 or c/d eq 2)":               true,
		"number eq '10000' or number eq '20000'": false,
	}
	for filter, want := range tests {
		f, err := ParseFilter(filter)
		require.NoError(t, err)
		require.Equal(t, want, f.OrAcrossProperties(), filter)
	}
}

// FuzzParseFilter checks that no input makes ParseFilter or Match panic,
// and that every refusal is a *QueryError.
func FuzzParseFilter(f *testing.F) {
	for _, s := range []string{
		"name eq 'Adatum'", "_parentaccountid_value eq null", "contains(tolower(name),'ab')",
		"modifiedon ge 2024-01-02T03:04:05.123Z", "a in ('x','y')", "not (a eq 1) or b/c ne 2",
		"substring(name,1,2) eq 'x'", "a add 1 eq 2", "(((a eq 1)))", "a eq 1)", "'", "eq eq eq",
		"a/any(x:x/b eq 1)", "a eq -5", "a eq 99999999999999999999999", "_", "__ eq _", "a eq 2024-02-30",
		"concat(concat(a,b),c) eq 'abc'", "length() eq 1", "in (1)", "a in ()", "not", "not not true",
		"case(a eq 1:2)", "isof(a,'Edm.String')", "a eq geography'SRID=0;Polygon((1.0 2.0, 3.0 4.0))'",
		`Microsoft.Dynamics.CRM.In(PropertyName='a',PropertyValues=["x","O'B"])`, "Microsoft.Dynamics.CRM.Between(PropertyName='n',PropertyValues=['1','2'])",
		"Microsoft.Dynamics.CRM.LastXDays(PropertyName='t',PropertyValue=3) or Microsoft.Dynamics.CRM.Today(PropertyName='t')",
		"Microsoft.Dynamics.CRM.In(", "Microsoft.Dynamics.CRM.In(PropertyName=[", "Microsoft.Dynamics.CRM.",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		flt, err := ParseFilter(s)
		if err != nil {
			var qe *QueryError
			if !errors.As(err, &qe) {
				t.Fatalf("ParseFilter(%q) error is %T, want *QueryError: %v", s, err, err)
			}
			return
		}
		for _, ic := range []bool{false, true} {
			flt.IgnoreCase = ic
			if _, err := flt.Match(sample); err != nil {
				var qe *QueryError
				if !errors.As(err, &qe) {
					t.Fatalf("Match(%q) error is %T, want *QueryError: %v", s, err, err)
				}
			}
		}
		_ = flt.Properties()
		_ = flt.Equalities()
		_, _, _ = flt.Lower("a")
		_ = flt.OrAcrossProperties()
	})
}

func TestCachedFiltersAreIndependent(t *testing.T) {
	t.Parallel()
	a, err := ParseFilter("name eq 'ADATUM CORPORATION'")
	require.NoError(t, err)
	b, err := ParseFilter("name eq 'ADATUM CORPORATION'")
	require.NoError(t, err)
	a.IgnoreCase = true
	okA, err := a.Match(sample)
	require.NoError(t, err)
	okB, err := b.Match(sample)
	require.NoError(t, err)
	require.True(t, okA)
	require.False(t, okB, "IgnoreCase on one parse does not leak into another")
}

// TestLongOrChain: lookups by many keys nest one level per "or"; they must
// parse, match and be recognised as single-property.
func TestLongOrChain(t *testing.T) {
	t.Parallel()
	var parts []string
	for i := range 1000 {
		parts = append(parts, fmt.Sprintf("number eq '%d'", 10000+i))
	}
	f, err := ParseFilter(strings.Join(parts, " or "))
	require.NoError(t, err)
	ok, err := f.Match(Record{"number": "10999"})
	require.NoError(t, err)
	require.True(t, ok)
	require.False(t, f.OrAcrossProperties())
	require.Equal(t, []string{"number"}, f.Properties())
}
