package dataverse

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestQueryOptions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	adatum := deterministicID("account:10000").String()
	tests := []struct {
		name  string
		query string
		check func(t *testing.T, r response)
	}{
		{"select returns selected columns, the key and the etag", "accounts?$select=name,emailaddress1&$filter=name eq 'Adatum Corporation'", func(t *testing.T, r response) {
			v := r.values(t)
			require.Len(t, v, 1)
			require.Equal(t, "robert.townes@contoso.com", v[0]["emailaddress1"])
			require.Equal(t, adatum, v[0]["accountid"])
			require.Regexp(t, `^W/"\d+"$`, v[0]["@odata.etag"])
			require.Len(t, v[0], 4)
			require.True(t, strings.HasSuffix(r.json(t)["@odata.context"].(string), "$metadata#accounts(name,emailaddress1)"))
		}},
		{"string equality is case-insensitive", "accounts?$select=name&$filter=name eq 'ADATUM corporation'", func(t *testing.T, r response) {
			require.Len(t, r.values(t), 1)
		}},
		{"contains, and/or, not", "accounts?$select=name&$filter=(contains(name,'re') or startswith(name,'Alp')) and not endswith(name,'Research')&$orderby=name", func(t *testing.T, r response) {
			names := []string{}
			for _, v := range r.values(t) {
				names = append(names, v["name"].(string))
			}
			require.Equal(t, []string{"Alpine Ski House", "Litware, Inc.", "Relecloud"}, names)
		}},
		{"read by ids, from the key index", "accounts?$select=name&$filter=accountid eq " + strings.ToUpper(adatum) + " or accountid eq 00000000-0000-0000-0000-000000000001 or accountid eq " + deterministicID("account:20000").String() + " or accountid eq " + adatum, func(t *testing.T, r response) {
			var names []string
			for _, v := range r.values(t) {
				names = append(names, v["name"].(string))
			}
			require.ElementsMatch(t, []string{"Adatum Corporation", "Trey Research"}, names)
		}},
		{"read by values of an indexed column", "accounts?$select=name&$filter=name eq 'adatum corporation' or name eq 'Trey Research' or name eq 'Nobody'&$orderby=name", func(t *testing.T, r response) {
			v := r.values(t)
			require.Len(t, v, 2)
			require.Equal(t, "Adatum Corporation", v[0]["name"])
		}},
		{"lookup filter as _x_value", "contacts?$select=fullname&$filter=_parentcustomerid_value eq " + adatum, func(t *testing.T, r response) {
			v := r.values(t)
			require.Len(t, v, 1)
			require.Equal(t, "Robert Townes", v[0]["fullname"])
		}},
		{"null comparison", "contacts?$select=fullname&$filter=_parentcustomerid_value eq null", func(t *testing.T, r response) {
			v := r.values(t)
			require.Len(t, v, 1)
			require.Equal(t, "Sam Loner", v[0]["fullname"])
		}},
		{"lookup path", "contacts?$select=fullname&$filter=parentcustomerid_account/name eq 'Relecloud'", func(t *testing.T, r response) {
			require.Len(t, r.values(t), 1)
		}},
		{"orderby desc and top", "accounts?$select=name&$orderby=name desc&$top=2", func(t *testing.T, r response) {
			v := r.values(t)
			require.Len(t, v, 2)
			require.Equal(t, "Trey Research", v[0]["name"])
			require.NotContains(t, string(r.body), "nextLink")
		}},
		{"count", "accounts?$count=true&$filter=customertypecode eq 3&$select=name", func(t *testing.T, r response) {
			require.EqualValues(t, 7, r.json(t)["@odata.count"])
		}},
		{"dates", "salesorders?$select=name&$filter=submitdate ge 2000-01-01 and statecode eq 1", func(t *testing.T, r response) {
			require.Len(t, r.values(t), 2)
		}},
		{"expand single-valued lookup", "accounts(" + adatum + ")?$select=name&$expand=primarycontactid($select=fullname,emailaddress1)", func(t *testing.T, r response) {
			pc := r.json(t)["primarycontactid"].(map[string]any)
			require.Equal(t, "Robert Townes", pc["fullname"])
			require.Contains(t, pc, "contactid")
		}},
		{"expand polymorphic and collection", "salesorders?$select=name&$filter=ordernumber eq 'ORD-01001-DEMO01'&$expand=customerid_account($select=name),order_details($select=quantity,priceperunit)", func(t *testing.T, r response) {
			v := r.values(t)
			require.Len(t, v, 1)
			require.Equal(t, "Adatum Corporation", v[0]["customerid_account"].(map[string]any)["name"])
			require.Len(t, v[0]["order_details"], 2)
		}},
		{"navigation collection", "accounts(" + adatum + ")/contact_customer_accounts?$select=fullname", func(t *testing.T, r response) {
			require.Len(t, r.values(t), 1)
		}},
		{"$count segment", "accounts/$count?$filter=customertypecode eq 3", func(t *testing.T, r response) {
			require.Equal(t, "7", string(r.body))
		}},
		{"single property", "accounts(" + adatum + ")/name", func(t *testing.T, r response) {
			require.Equal(t, "Adatum Corporation", r.json(t)["value"])
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, "GET", tt.query, nil)
			require.Equal(t, 200, r.status, string(r.body))
			tt.check(t, r)
		})
	}
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		query, code, msg string
		status           int
	}{
		{"accounts?$select=Name", codeODataGeneric, "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'.", 400},
		{"accounts?$select=parentaccountid", codeODataGeneric, "Could not find a property named 'parentaccountid'", 400},
		{"accounts?$filter=nosuch eq 1", codeODataGeneric, "nosuch", 400},
		{"accounts?$filter=name eq", codeODataGeneric, "$filter", 400},
		{"accounts?$filter=name eq 'x'')", codeODataGeneric, "$filter", 400},
		{"accounts?$skip=10", codeODataGeneric, "$skip", 400},
		{"accounts?fetchXml=%3Cfetch%2F%3E", codeODataGeneric, "fetchXml", 400},
		{"accounts?$orderby=nosuch", codeODataGeneric, "nosuch", 400},
		{"accounts?$expand=nosuch", codeODataGeneric, "nosuch", 400},
		{"accounts(00000000-0000-0000-0000-0000000000aa)", codeObjectDoesNotExist, "account With Id = 00000000-0000-0000-0000-0000000000aa Does Not Exist", 404},
		{"accounts(accountnumber='X')", codeInvalidArgument, "No alternate key", 400},
		{"accounts?$skiptoken=garbage", codeInvalidArgument, "paging cookie", 400},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, "GET", tt.query, nil)
			require.Equal(t, tt.status, r.status, string(r.body))
			require.Equal(t, tt.code, r.errorCode(t))
			require.Contains(t, string(r.body), tt.msg)
		})
	}
}

func TestAnnotations(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do(t, "GET", "salesorders?$select=name,statecode,statuscode,totalamount,_customerid_value,submitdate&$filter=ordernumber eq 'ORD-01001-DEMO01'", nil,
		`Prefer: odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"`)
	require.Equal(t, 200, r.status, string(r.body))
	require.Contains(t, r.header.Values("Preference-Applied"), `odata.include-annotations="OData.Community.Display.V1.FormattedValue,Microsoft.Dynamics.CRM.lookuplogicalname"`)
	v := r.values(t)[0]
	require.EqualValues(t, 1, v["statecode"])
	require.Equal(t, "Submitted", v["statecode@OData.Community.Display.V1.FormattedValue"])
	require.Equal(t, "In Progress", v["statuscode@OData.Community.Display.V1.FormattedValue"])
	require.Equal(t, "account", v["_customerid_value@Microsoft.Dynamics.CRM.lookuplogicalname"])
	require.Equal(t, "Adatum Corporation", v["_customerid_value@OData.Community.Display.V1.FormattedValue"])
	require.Equal(t, "£11,129.60", v["totalamount@OData.Community.Display.V1.FormattedValue"])
	require.NotContains(t, v, "_customerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty")

	r = e.do(t, "GET", "salesorders?$select=name", nil)
	require.NotContains(t, string(r.body), "@OData.Community")
}

func TestPaging(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{scale: 1200})
	tests := []struct {
		name, query string
		pageSize    int
		want        int
	}{
		{"creation order", "accounts?$select=name", 500, 1209},
		{"filtered", "accounts?$select=name&$filter=startswith(name,'Synthetic') and address1_city eq 'Leeds'", 50, 120},
		{"ordered by name", "accounts?$select=name&$orderby=name desc", 400, 1209},
		{"ordered by modifiedon", "contacts?$select=fullname&$orderby=modifiedon asc&$filter=modifiedon ge 2000-01-01T00:00:00Z", 300, 1209},
		{"indexed lookup", "contacts?$select=fullname&$filter=_parentcustomerid_value eq " + deterministicID("account:10000").String(), 10, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			seen := map[string]bool{}
			next := tt.query
			pages := 0
			var last string
			for next != "" {
				r := e.do(t, "GET", next, nil, "Prefer: odata.maxpagesize="+itoa(tt.pageSize))
				require.Equal(t, 200, r.status, string(r.body))
				m := r.json(t)
				vals := r.values(t)
				require.LessOrEqual(t, len(vals), tt.pageSize)
				for _, v := range vals {
					id := v[keyOf(tt.query)].(string)
					require.False(t, seen[id], "row %s returned twice", id)
					seen[id] = true
					if strings.Contains(tt.query, "orderby=name desc") {
						name := v["name"].(string)
						if last != "" {
							require.LessOrEqual(t, strings.ToLower(name), strings.ToLower(last))
						}
						last = name
					}
				}
				next, _ = m["@odata.nextLink"].(string)
				if next != "" {
					u, err := url.Parse(next)
					require.NoError(t, err)
					tok := u.Query().Get("$skiptoken")
					require.True(t, strings.HasPrefix(tok, `<cookie pagenumber="`+itoa(pages+2)+`" pagingcookie="`), tok)
				}
				pages++
				require.Less(t, pages, 200)
			}
			require.Equal(t, tt.want, len(seen))
		})
	}
}

func keyOf(q string) string {
	set, _, _ := strings.Cut(q, "?")
	return map[string]string{"accounts": "accountid", "contacts": "contactid"}[set]
}

func itoa(i int) string { return formatPlain(int64(i)) }

func TestCountCap(t *testing.T) {
	t.Parallel()
	e := setup(t, setupOpts{scale: 5100})
	r := e.do(t, "GET", "accounts?$count=true&$select=name&$top=1", nil)
	require.Equal(t, 200, r.status)
	require.EqualValues(t, 5000, r.json(t)["@odata.count"])
	r = e.do(t, "GET", "contacts?$select=fullname", nil)
	require.Len(t, r.values(t), 5000, "a page is capped at 5,000 rows")
	require.Contains(t, r.json(t), "@odata.nextLink")
}
