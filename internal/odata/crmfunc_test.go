package odata

import (
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDataverseQueryFunctions(t *testing.T) {
	t.Parallel()
	now := time.Date(2024, 5, 10, 15, 0, 0, 0, time.UTC)
	rec := Record{
		"lastname": "O'Brian", "numberofemployees": 250, "accountnumber": "10000", "donotemail": true,
		"createdon": time.Date(2024, 5, 9, 8, 0, 0, 0, time.UTC), "modifiedon": "2024-05-10T14:30:00Z",
		"birthdate": "2024-05-11", "_parentaccountid_value": nil,
	}
	tests := []struct {
		filter string
		want   bool
	}{
		{`Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=["OBrian","O'Brian"])`, true},
		{`Microsoft.Dynamics.CRM.In(PropertyName='lastname',PropertyValues=['o''brian'])`, true},
		{`Microsoft.Dynamics.CRM.NotIn(PropertyName='accountnumber',PropertyValues=["20000","30000"])`, true},
		{`Microsoft.Dynamics.CRM.In(PropertyName='numberofemployees',PropertyValues=["5","250"])`, true},
		{`Microsoft.Dynamics.CRM.Between(PropertyName='numberofemployees',PropertyValues=["5","2000"])`, true},
		{`Microsoft.Dynamics.CRM.Between(PropertyName='numberofemployees',PropertyValues=["251","2000"])`, false},
		{`Microsoft.Dynamics.CRM.NotBetween(PropertyName='numberofemployees',PropertyValues=["251","2000"])`, true},
		{`Microsoft.Dynamics.CRM.In(PropertyName='donotemail',PropertyValues=["true"])`, true},
		{`Microsoft.Dynamics.CRM.In(PropertyName='_parentaccountid_value',PropertyValues=["x"])`, false},
		{`Microsoft.Dynamics.CRM.On(PropertyName='createdon',PropertyValue='2024-05-09')`, true},
		{`Microsoft.Dynamics.CRM.NotOn(PropertyName='createdon',PropertyValue='2024-05-09')`, false},
		{`Microsoft.Dynamics.CRM.OnOrAfter(PropertyName='birthdate',PropertyValue='2024-05-11')`, true},
		{`Microsoft.Dynamics.CRM.OnOrBefore(PropertyName='birthdate',PropertyValue='2024-05-10')`, false},
		{`Microsoft.Dynamics.CRM.Today(PropertyName='modifiedon')`, true},
		{`Microsoft.Dynamics.CRM.Yesterday(PropertyName='createdon')`, true},
		{`Microsoft.Dynamics.CRM.Tomorrow(PropertyName='birthdate')`, true},
		{`Microsoft.Dynamics.CRM.LastXDays(PropertyName='createdon',PropertyValue=1)`, true},
		{`Microsoft.Dynamics.CRM.LastXHours(PropertyName='createdon',PropertyValue=24)`, false},
		{`Microsoft.Dynamics.CRM.LastXHours(PropertyName='modifiedon',PropertyValue=1)`, true},
		{`Microsoft.Dynamics.CRM.NextXDays(PropertyName='birthdate',PropertyValue=1)`, true},
		{`Microsoft.Dynamics.CRM.OlderThanXDays(PropertyName='createdon',PropertyValue=1)`, true},
		{`Microsoft.Dynamics.CRM.OlderThanXHours(PropertyName='modifiedon',PropertyValue=1)`, false},
		{`not Microsoft.Dynamics.CRM.In(PropertyName='accountnumber',PropertyValues=["10000"]) or contains(lastname,'bri')`, true},
		{`accountnumber eq '10000' and microsoft.dynamics.crm.between(PropertyName='numberofemployees', PropertyValues=["1", "300"])`, true},
		{`lastname eq 'Microsoft.Dynamics.CRM.In(x)'`, false},
	}
	for _, tt := range tests {
		t.Run(tt.filter, func(t *testing.T) {
			t.Parallel()
			f, err := ParseFilter(tt.filter)
			require.NoError(t, err)
			f.IgnoreCase = true
			f.Now = func() time.Time { return now }
			got, err := f.Match(rec)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestDataverseQueryFunctionErrors(t *testing.T) {
	t.Parallel()
	tests := []struct{ filter, want string }{
		{`Microsoft.Dynamics.CRM.Above(PropertyName='accountid',PropertyValue='x')`, "Above is not supported"},
		{`Microsoft.Dynamics.CRM.In(PropertyName='a')`, "needs the parameter PropertyValues"},
		{`Microsoft.Dynamics.CRM.In(PropertyValues=["a"])`, "needs PropertyName"},
		{`Microsoft.Dynamics.CRM.In(PropertyName='a',PropertyValues='b')`, "must be an array"},
		{`Microsoft.Dynamics.CRM.Between(PropertyName='a',PropertyValues=["1"])`, "exactly 2 values"},
		{`Microsoft.Dynamics.CRM.In(PropertyName='a',PropertyValues=["1","2")`, "not closed"},
		{`Microsoft.Dynamics.CRM.In(PropertyName='a',PropertyValues=["1],Foo=1)`, "not closed"},
		{`Microsoft.Dynamics.CRM.In(PropertyName='a',PropertyValues=["1"],Bogus=1)`, "no parameter bogus"},
		{`Microsoft.Dynamics.CRM.In PropertyName='a'`, "followed by its parameters"},
		{`Microsoft.Dynamics.CRM.LastXDays(PropertyName='a',PropertyValue=-2)`, "non-negative whole number"},
		{`Microsoft.Dynamics.CRM.On(PropertyName='a',PropertyValue='soon')`, "not a date"},
		{`Microsoft.Dynamics.CRM.In(PropertyName='a',PropertyName='b',PropertyValues=["1"])`, "given twice"},
	}
	for _, tt := range tests {
		_, err := ParseFilter(tt.filter)
		var qe *QueryError
		require.True(t, errors.As(err, &qe), "%s: got %v", tt.filter, err)
		require.Contains(t, err.Error(), tt.want, tt.filter)
	}

	f, err := ParseFilter(`Microsoft.Dynamics.CRM.In(PropertyName='n',PropertyValues=["x"])`)
	require.NoError(t, err)
	_, err = f.Match(Record{"n": 5})
	require.ErrorContains(t, err, `"x" is not a number, but property n is`)
	f, err = ParseFilter(`Microsoft.Dynamics.CRM.Today(PropertyName='n')`)
	require.NoError(t, err)
	_, err = f.Match(Record{"n": "not a date"})
	require.ErrorContains(t, err, "needs a date-time")
}

func TestFunctionsAndProperties(t *testing.T) {
	t.Parallel()
	f, err := ParseFilter(`a in ('x') and contains(tolower(b),'y') and Microsoft.Dynamics.CRM.In(PropertyName='c',PropertyValues=["1"]) and d eq 1`)
	require.NoError(t, err)
	require.Equal(t, []string{"in", "contains", "tolower", "Microsoft.Dynamics.CRM.In"}, f.Functions())
	require.Equal(t, []string{"a", "b", "c", "d"}, f.Properties())
	require.Equal(t, map[string]any{"d": int64(1)}, f.Equalities())
}

func TestParameterAliases(t *testing.T) {
	t.Parallel()
	v := url.Values{
		"$filter":  {`Microsoft.Dynamics.CRM.In(PropertyName=@p1,PropertyValues=@p2) and contains(@p3,'Bri') and x eq 'a@b'`},
		"@p1":      {"'lastname'"},
		"@p2":      {`["OBrian","O'Brian"]`},
		"@p3":      {"lastname"},
		"$orderby": {"@o desc"},
		"@o":       {"lastname"},
	}
	q, err := ParseQuery(v)
	require.NoError(t, err)
	require.Equal(t, []OrderItem{{Property: "lastname", Desc: true}}, q.OrderBy)
	ok, err := q.Filter.Match(Record{"lastname": "O'Brian", "x": "a@b"})
	require.NoError(t, err)
	require.True(t, ok)

	_, err = ParseQuery(url.Values{"$filter": {"name eq @missing"}})
	var qe *QueryError
	require.ErrorAs(t, err, &qe)
	require.Equal(t, "$filter", qe.Option)
	require.Contains(t, qe.Message, "@missing is used but no @missing= parameter")
}
