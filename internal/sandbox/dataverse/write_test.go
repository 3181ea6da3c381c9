package dataverse

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func entityID(t *testing.T, r response) string {
	t.Helper()
	loc := r.header.Get("OData-EntityId")
	require.NotEmpty(t, loc, "OData-EntityId header")
	i := strings.LastIndex(loc, "(")
	return strings.TrimSuffix(loc[i+1:], ")")
}

func TestCreate(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do(t, "POST", "accounts", map[string]any{"name": "Contoso Pharmaceuticals", "creditlimit": 15000, "creditonhold": false,
		"customertypecode": 3, "primarycontactid@odata.bind": "/contacts(" + deterministicID("contact:10000").String() + ")"})
	require.Equal(t, 204, r.status, string(r.body))
	id := entityID(t, r)
	require.Equal(t, e.api+"accounts("+id+")", r.header.Get("OData-EntityId"))
	require.Empty(t, r.body)

	r = e.do(t, "GET", "accounts("+id+")?$select=name,creditlimit,statecode,statuscode,_primarycontactid_value,createdon,modifiedon,versionnumber", nil)
	require.Equal(t, 200, r.status)
	acc := r.json(t)
	require.Equal(t, "Contoso Pharmaceuticals", acc["name"])
	require.EqualValues(t, 15000, acc["creditlimit"])
	require.EqualValues(t, 0, acc["statecode"])
	require.EqualValues(t, 1, acc["statuscode"])
	require.Equal(t, deterministicID("contact:10000").String(), acc["_primarycontactid_value"])
	require.Equal(t, acc["createdon"], acc["modifiedon"])
	require.Equal(t, `W/"`+formatPlain(acc["versionnumber"].(float64))+`"`, r.header.Get("ETag"))
	require.True(t, strings.HasSuffix(acc["@odata.context"].(string), "$metadata#accounts(name,creditlimit,statecode,statuscode,_primarycontactid_value,createdon,modifiedon,versionnumber)/$entity"))

	r = e.do(t, "POST", "contacts?$select=fullname", map[string]any{"firstname": "Ada", "lastname": "Lovelace"}, "Prefer: return=representation")
	require.Equal(t, 201, r.status, string(r.body))
	require.Equal(t, "Ada Lovelace", r.json(t)["fullname"])
	require.Empty(t, r.header.Get("OData-EntityId"))
}

func TestWriteValidation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name   string
		set    string
		body   any
		status int
		code   string
		msg    string
	}{
		{"unknown property", "accounts", map[string]any{"nmae": "x"}, 400, codeODataGeneric, "The property 'nmae' does not exist on type 'Microsoft.Dynamics.CRM.account'"},
		{"lookup written as value", "accounts", map[string]any{"_parentaccountid_value": "x"}, 400, codeODataGeneric, "parentaccountid@odata.bind"},
		{"string too long", "accounts", map[string]any{"accountnumber": strings.Repeat("9", 21)}, 400, codeStringTooLong, "maximum allowed length of '20'"},
		{"bad choice", "accounts", map[string]any{"customertypecode": 99}, 400, codeInvalidOption, "outside the valid range"},
		{"wrong type", "accounts", map[string]any{"creditlimit": "lots"}, 400, codeODataGeneric, "creditlimit"},
		{"bind to missing record", "accounts", map[string]any{"parentaccountid@odata.bind": "/accounts(00000000-0000-0000-0000-000000000009)"}, 404, codeObjectDoesNotExist, "Does Not Exist"},
		{"bind to wrong table", "accounts", map[string]any{"parentaccountid@odata.bind": "/contacts(" + deterministicID("contact:10000").String() + ")"}, 400, codeInvalidArgument, "cannot refer to a contact"},
		{"bad state/status pair", "salesorders", map[string]any{"name": "x", "statecode": 1, "statuscode": 1}, 400, codeInvalidArgument, "not a valid status code"},
		{"not JSON", "accounts", "{", 400, codeODataGeneric, "Invalid JSON"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := e.do(t, "POST", tt.set, tt.body)
			require.Equal(t, tt.status, r.status, string(r.body))
			require.Equal(t, tt.code, r.errorCode(t))
			require.Contains(t, string(r.body), tt.msg)
		})
	}
}

func TestUpsertAndConcurrency(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := "5f4c7b52-3b6b-4b7e-9c1f-0d7b1f3c2a11"
	// If-Match: * prevents create.
	r := e.do(t, "PATCH", "accounts("+id+")", map[string]any{"name": "Upserted"}, "If-Match: *")
	require.Equal(t, 404, r.status)
	require.Equal(t, codeObjectDoesNotExist, r.errorCode(t))
	require.Contains(t, string(r.body), "account With Id = "+id+" Does Not Exist")
	// Upsert creates with the given id.
	r = e.do(t, "PATCH", "accounts("+id+")", map[string]any{"name": "Upserted"})
	require.Equal(t, 204, r.status, string(r.body))
	require.Equal(t, e.api+"accounts("+id+")", r.header.Get("OData-EntityId"))
	// If-None-Match: * prevents update.
	r = e.do(t, "PATCH", "accounts("+id+")", map[string]any{"name": "Again"}, "If-None-Match: *")
	require.Equal(t, 412, r.status)
	require.Equal(t, codeDuplicateRecord, r.errorCode(t))
	require.Contains(t, string(r.body), "A record with matching key values already exists.")
	// Optimistic concurrency with the ETag.
	r = e.do(t, "GET", "accounts("+id+")?$select=name", nil)
	tag := r.json(t)["@odata.etag"].(string)
	require.Equal(t, 304, e.do(t, "GET", "accounts("+id+")?$select=name", nil, "If-None-Match: "+tag).status)
	r = e.do(t, "PATCH", "accounts("+id+")", map[string]any{"name": "Renamed"}, "If-Match: "+tag, "Prefer: return=representation")
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "Renamed", r.json(t)["name"])
	require.NotEqual(t, tag, r.json(t)["@odata.etag"])
	r = e.do(t, "PATCH", "accounts("+id+")", map[string]any{"name": "Stale"}, "If-Match: "+tag)
	require.Equal(t, 412, r.status)
	require.Equal(t, codeConcurrency, r.errorCode(t))
	require.Contains(t, string(r.body), "The version of the existing record doesn't match the RowVersion property provided.")
	// Delete, then it is gone.
	require.Equal(t, 412, e.do(t, "DELETE", "accounts("+id+")", nil, "If-Match: "+tag).status)
	require.Equal(t, 204, e.do(t, "DELETE", "accounts("+id+")", nil).status)
	require.Equal(t, 404, e.do(t, "DELETE", "accounts("+id+")", nil).status)
	require.Equal(t, 404, e.do(t, "GET", "accounts("+id+")", nil).status)
}

func TestAlternateKeys(t *testing.T) {
	t.Parallel()
	e := setup(t)
	admin := e.token
	r := e.doAs(t, admin, "POST", "EntityDefinitions(LogicalName='account')/Keys", map[string]any{"SchemaName": "coupler_accountnumber", "KeyAttributes": []string{"accountnumber"}})
	require.Equal(t, 204, r.status, string(r.body))
	r = e.do(t, "PATCH", "accounts(accountnumber='A1')", map[string]any{"name": "By key"})
	require.Equal(t, 204, r.status, string(r.body))
	id := entityID(t, r)
	r = e.do(t, "GET", "accounts(accountnumber='a1')?$select=name,accountnumber", nil)
	require.Equal(t, 200, r.status, string(r.body))
	require.Equal(t, "A1", r.json(t)["accountnumber"])
	require.Equal(t, id, r.json(t)["accountid"])
	r = e.do(t, "PATCH", "accounts(accountnumber='A1')", map[string]any{"name": "Updated by key"})
	require.Equal(t, 204, r.status)
	require.Equal(t, id, entityID(t, r))
	r = e.do(t, "POST", "accounts", map[string]any{"name": "dup", "accountnumber": "A1"})
	require.Equal(t, 412, r.status)
	require.Equal(t, codeDuplicateRecord, r.errorCode(t))
	r = e.do(t, "POST", "contacts", map[string]any{"lastname": "Keyed", "parentcustomerid_account@odata.bind": "/accounts(accountnumber='A1')"}, "Prefer: return=representation")
	require.Equal(t, 201, r.status, string(r.body))
	require.Equal(t, id, r.json(t)["_parentcustomerid_value"])
	require.Equal(t, id, r.json(t)["_accountid_value"])
	r = e.do(t, "GET", "EntityDefinitions(LogicalName='account')/Keys", nil)
	require.Equal(t, []any{"accountnumber"}, r.values(t)[0]["KeyAttributes"])
}

func TestSalesDocuments(t *testing.T) {
	t.Parallel()
	e := setup(t)
	adatum := deterministicID("account:10000").String()
	r := e.do(t, "POST", "salesorders", map[string]any{
		"name": "New order", "customerid_account@odata.bind": "/accounts(" + adatum + ")",
		"pricelevelid@odata.bind":          "/pricelevels(" + deterministicID("pricelevel:GBP").String() + ")",
		"transactioncurrencyid@odata.bind": "/transactioncurrencies(" + deterministicID("currency:GBP").String() + ")",
	}, "Prefer: return=representation")
	require.Equal(t, 201, r.status, string(r.body))
	so := r.json(t)
	id := so["salesorderid"].(string)
	require.EqualValues(t, 0, so["statecode"])
	require.EqualValues(t, 1, so["statuscode"])
	require.Equal(t, adatum, so["_customerid_value"])
	require.Equal(t, adatum, so["_accountid_value"])
	require.Regexp(t, `^ORD-\d{5}-[0-9A-F]{6}$`, so["ordernumber"])
	r = e.do(t, "POST", "salesorderdetails", map[string]any{"salesorderid@odata.bind": "/salesorders(" + id + ")",
		"isproductoverridden": true, "productdescription": "Write-in", "quantity": 2, "priceperunit": 10})
	require.Equal(t, 204, r.status, string(r.body))
	// Submit: statecode 1 gives the default status 3 (In Progress).
	r = e.do(t, "PATCH", "salesorders("+id+")", map[string]any{"statecode": 1}, "Prefer: return=representation")
	require.Equal(t, 200, r.status, string(r.body))
	require.EqualValues(t, 3, r.json(t)["statuscode"])
	// Fulfil with an explicit status; a status of another state is refused.
	r = e.do(t, "PATCH", "salesorders("+id+")", map[string]any{"statecode": 3, "statuscode": 100001})
	require.Equal(t, 204, r.status, string(r.body))
	r = e.do(t, "PATCH", "salesorders("+id+")", map[string]any{"statuscode": 4, "statecode": 0})
	require.Equal(t, 400, r.status)
	// The account cannot be deleted while it has orders (Restrict); the order deletes its lines (Cascade).
	r = e.do(t, "DELETE", "accounts("+adatum+")", nil)
	require.Equal(t, 400, r.status)
	require.Contains(t, string(r.body), "ReferencingEntity: salesorder")
	require.Equal(t, 204, e.do(t, "DELETE", "salesorders("+id+")", nil).status)
	r = e.do(t, "GET", "salesorderdetails?$filter=_salesorderid_value eq "+id, nil)
	require.Empty(t, r.values(t))
}

func TestPropertyAndReferenceEndpoints(t *testing.T) {
	t.Parallel()
	e := setup(t)
	id := deterministicID("account:CRM1").String()
	require.Equal(t, 204, e.do(t, "PUT", "accounts("+id+")/telephone1", map[string]any{"value": "0123"}).status)
	require.Equal(t, "0123", e.do(t, "GET", "accounts("+id+")/telephone1", nil).json(t)["value"])
	r0 := e.do(t, "DELETE", "accounts("+id+")/telephone1", nil)
	require.Equal(t, 204, r0.status, string(r0.body))
	require.Equal(t, 204, e.do(t, "GET", "accounts("+id+")/telephone1", nil).status)

	parent := deterministicID("account:10000").String()
	r := e.do(t, "PUT", "accounts("+id+")/parentaccountid/$ref", map[string]any{"@odata.id": e.api + "accounts(" + parent + ")"})
	require.Equal(t, 204, r.status, string(r.body))
	require.Equal(t, "Adatum Corporation", e.do(t, "GET", "accounts("+id+")/parentaccountid?$select=name", nil).json(t)["name"])
	require.Equal(t, 204, e.do(t, "DELETE", "accounts("+id+")/parentaccountid/$ref", nil).status)
	require.Nil(t, e.do(t, "GET", "accounts("+id+")?$select=_parentaccountid_value", nil).json(t)["_parentaccountid_value"])
}

func TestRolesAssociation(t *testing.T) {
	t.Parallel()
	e := setup(t)
	user := e.srv.ids.integrationUser.String()
	rolesOf := func() []string {
		r := e.do(t, "GET", "systemusers("+user+")/systemuserroles_association?$select=name", nil)
		require.Equal(t, 200, r.status, string(r.body))
		var names []string
		for _, v := range r.values(t) {
			names = append(names, v["name"].(string))
		}
		return names
	}
	require.Empty(t, rolesOf(), "the integration user starts without roles")
	for _, role := range []string{roleIntegrationAdminID.String(), roleIntegrationUserID.String()} {
		r := e.do(t, "POST", "systemusers("+user+")/systemuserroles_association/$ref", map[string]any{"@odata.id": e.api + "roles(" + role + ")"})
		require.Equal(t, 204, r.status, string(r.body))
	}
	require.ElementsMatch(t, []string{"Integration Administrator", "Integration User"}, rolesOf())
	r := e.do(t, "POST", "systemusers("+user+")/systemuserroles_association/$ref", map[string]any{"@odata.id": e.api + "roles(" + roleIntegrationUserID.String() + ")"})
	require.Equal(t, 412, r.status)
	r = e.do(t, "GET", "systemusers("+user+")?$select=fullname&$expand=systemuserroles_association($select=name,roleid)", nil)
	require.Len(t, r.json(t)["systemuserroles_association"], 2)
	require.Equal(t, 204, e.do(t, "DELETE", "systemusers("+user+")/systemuserroles_association("+roleIntegrationUserID.String()+")/$ref", nil).status)
	require.Equal(t, []string{"Integration Administrator"}, rolesOf())
}
