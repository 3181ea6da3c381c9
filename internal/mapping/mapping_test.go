package mapping

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// fakeResolver couples ERP keys to CRM ids from a table: "MAPPING/key" → id.
type fakeResolver struct {
	ms   map[string]*TableMapping
	refs map[string]string
}

func setup(t testing.TB) *fakeResolver {
	t.Helper()
	r := &fakeResolver{ms: map[string]*TableMapping{}, refs: map[string]string{
		"SALESPEOPLE/JO":                  "11111111-0000-0000-0000-000000000001",
		"PAYMENT TERMS/pt-1m8d":           "2",
		"CURRENCY/EUR":                    "22222222-0000-0000-0000-000000000001",
		"UNIT OF MEASURE/uom-pcs":         "33333333-0000-0000-0000-000000000001",
		"UNIT OF MEASURE/uom-pcs/baseuom": "33333333-0000-0000-0000-0000000000b1",
		"CUSTOMER/cust-1":                 "44444444-0000-0000-0000-000000000001",
		"crm:PAYMENT TERMS/2":             "pt-1m8d",
		"crm:SALESPEOPLE/11111111-0000-0000-0000-000000000001": "JO",
	}}
	for _, m := range Defaults() {
		r.ms[m.Name] = &m
	}
	return r
}

func (r *fakeResolver) Mapping(n string) (*TableMapping, bool) { m, ok := r.ms[n]; return m, ok }

func (r *fakeResolver) CRMRef(_ context.Context, l Lookup, v string) (string, error) {
	k := l.Mapping + "/" + v
	if l.Follow != "" {
		k += "/" + l.Follow
	}
	if id, ok := r.refs[k]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%s %q: %w", l.Mapping, v, ErrUnresolved)
}

func (r *fakeResolver) ERPRef(_ context.Context, l Lookup, v string) (string, error) {
	if id, ok := r.refs["crm:"+l.Mapping+"/"+v]; ok {
		return id, nil
	}
	return "", fmt.Errorf("%s %q: %w", l.Mapping, v, ErrUnresolved)
}

func adatum() map[string]any {
	return map[string]any{
		"id": "cust-1", "number": "10000", "displayName": "Adatum Corporation",
		"addressLine1": "Station Road, 21", "addressLine2": "", "city": "Cambridge", "state": "",
		"country": "GB", "postalCode": "CB1 2FB", "phoneNumber": "", "email": "robert.townes@contoso.com",
		"website": "", "salespersonCode": "JO", "creditLimit": 0.0, "currencyId": zeroGUID,
		"currencyCode": "GBP", "paymentTermsId": "pt-1m8d", "shipmentMethodId": zeroGUID,
		"blocked": "_x0020_", "lastModifiedDateTime": "2026-01-01T00:00:00Z",
	}
}

func TestDefaultsAreValidAndOrdered(t *testing.T) {
	t.Parallel()
	ms := Defaults()
	require.NoError(t, ValidateSet(ms, Catalog))
	ordered, err := Order(ms)
	require.NoError(t, err)
	pos := map[string]int{}
	for i, m := range ordered {
		pos[m.Name] = i
	}
	for _, pair := range [][2]string{
		{Salespeople, Customer}, {Currency, Customer}, {Customer, Contact}, {Vendor, Contact},
		{UnitOfMeasure, ItemProduct}, {ItemProduct, ProductPrice}, {PriceList, ProductPrice},
		{PostedInvoice, PostedInvLine}, {SalesOrder, SalesOrderLine}, {PaymentTerms, Customer},
	} {
		require.Less(t, pos[pair[0]], pos[pair[1]], "%s must run before %s", pair[0], pair[1])
	}
	for _, m := range ms {
		require.Equal(t, DefaultInterval, m.Schedule(), m.Name)
	}
}

func TestValidateRefusesByName(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		edit func(m *TableMapping)
		want string
	}{
		{"unknown ERP field", func(m *TableMapping) { m.Fields[0].ERPField = "displayNam" }, `ERP field "displayNam" does not exist on customers`},
		{"unknown CRM column", func(m *TableMapping) { m.Fields[0].CRMField = "nme" }, `CRM column "nme" does not exist on account`},
		{"unknown entity", func(m *TableMapping) { m.ERPEntity = "customerz" }, `ERP entity set "customerz" does not exist`},
		{"bad direction", func(m *TableMapping) { m.Direction = "Sideways" }, `direction "Sideways"`},
		{"bad transform", func(m *TableMapping) { m.Fields[0].Transform = "shout" }, `transform "shout" does not exist`},
		{"bad conflict", func(m *TableMapping) { m.Conflict = "Coin" }, `conflict rule "Coin"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, ok := Default(Customer)
			require.True(t, ok)
			tt.edit(&m)
			err := Validate(m, Catalog)
			require.ErrorIs(t, err, ErrInvalid)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestOrderRefusesCycles(t *testing.T) {
	t.Parallel()
	ms := []TableMapping{
		{Name: "A", DependsOn: []string{"C"}},
		{Name: "B", DependsOn: []string{"A"}},
		{Name: "C", DependsOn: []string{"B"}},
	}
	_, err := Order(ms)
	require.ErrorIs(t, err, ErrInvalid)
	require.Contains(t, err.Error(), "A → C → B → A")
}

func TestTransformCustomerToCRM(t *testing.T) {
	t.Parallel()
	r := setup(t)
	m, _ := Default(Customer)
	update, err := TransformToCRM(context.Background(), &m, adatum(), r, false)
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"name": "Adatum Corporation", "accountnumber": "10000",
		"address1_line1": "Station Road, 21", "address1_line2": "", "address1_city": "Cambridge",
		"address1_stateorprovince": "", "address1_country": "GB", "address1_postalcode": "CB1 2FB",
		"telephone1": "", "emailaddress1": "robert.townes@contoso.com", "websiteurl": "",
		"creditlimit": 0.0, "paymenttermscode": 2,
		"ownerid@odata.bind": "/systemusers(11111111-0000-0000-0000-000000000001)",
		"customertypecode":   3,
	}, update, "GBP (the LCY) is not a coupled currency: the column is left to the CRM default; blanks clear the row's values")

	create, err := TransformToCRM(context.Background(), &m, adatum(), r, true)
	require.NoError(t, err)
	want := map[string]any{}
	for k, v := range update {
		if v != "" {
			want[k] = v
		}
	}
	require.Len(t, want, len(update)-4)
	require.Equal(t, want, create, "a new row gets the values; its blank columns are left empty")
}

func TestTransformErrorsNameTheField(t *testing.T) {
	t.Parallel()
	r := setup(t)
	tests := []struct {
		name    string
		mapping string
		edit    func(rec map[string]any)
		field   string
		want    string
	}{
		{"uncoupled salesperson", Customer, func(rec map[string]any) { rec["salespersonCode"] = "BC" }, "salespersonCode", `SALESPEOPLE "BC"`},
		{"missing name", Customer, func(rec map[string]any) { rec["displayName"] = " " }, "displayName", "is required for name"},
		{"bad date", PostedInvoice, func(rec map[string]any) {
			rec["dueDate"] = "31/12/2026"
			rec["customerId"] = "cust-1"
			rec["salesperson"] = "JO"
		}, "dueDate", "is not a date"},
		{"uncoupled customer on invoice", PostedInvoice, func(rec map[string]any) { rec["customerId"] = "cust-9"; rec["salesperson"] = "JO" }, "customerId", `CUSTOMER "cust-9"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			m, _ := Default(tt.mapping)
			rec := adatum()
			tt.edit(rec)
			_, err := TransformToCRM(context.Background(), &m, rec, r, true)
			var fe *FieldError
			require.ErrorAs(t, err, &fe)
			require.Equal(t, tt.field, fe.Field)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

func TestTransformFromCRM(t *testing.T) {
	t.Parallel()
	r := setup(t)
	m, _ := Default(Customer)
	crm := map[string]any{
		"accountid": "44444444-0000-0000-0000-000000000001", "name": "Adatum Corp.", "address1_line1": "Station Road, 21",
		"address1_line2": nil, "address1_city": "Cambridge", "address1_stateorprovince": nil, "address1_country": "GB",
		"address1_postalcode": "CB1 2FB", "telephone1": "+44 1223 000000", "emailaddress1": "robert.townes@contoso.com",
		"websiteurl": nil, "paymenttermscode": 2.0, "address1_freighttermscode": nil, "accountnumber": "10000",
	}
	got, err := TransformToERP(context.Background(), &m, crm, r, false)
	require.NoError(t, err)
	require.Equal(t, map[string]any{
		"displayName": "Adatum Corp.", "addressLine1": "Station Road, 21", "addressLine2": "", "city": "Cambridge",
		"state": "", "country": "GB", "postalCode": "CB1 2FB", "phoneNumber": "+44 1223 000000",
		"email": "robert.townes@contoso.com", "website": "", "paymentTermsId": "pt-1m8d",
	}, got, "ToCRM-only fields (number, credit limit, owner, type) never flow back; empty CRM columns are empty ERP strings")
}

func TestContactNameSplitAndJSONRoundTrip(t *testing.T) {
	t.Parallel()
	r := setup(t)
	m, _ := Default(Contact)
	b, err := json.Marshal(m)
	require.NoError(t, err)
	require.Contains(t, string(b), `"interval":"30m0s"`)
	var back TableMapping
	require.NoError(t, json.Unmarshal(b, &back))
	require.Equal(t, m, back)
	got, err := TransformToCRM(context.Background(), &back, map[string]any{"displayName": "Mary Ann Smith", "email": "m@x"}, r, true)
	require.NoError(t, err)
	require.Equal(t, "Mary Ann", got["firstname"])
	require.Equal(t, "Smith", got["lastname"])
	require.NotContains(t, got, "parentcustomerid_account@odata.bind", "company not coupled: optional lookup left out")
}

func TestDurationRejectsGarbage(t *testing.T) {
	t.Parallel()
	var d Duration
	err := json.Unmarshal([]byte(`"half an hour"`), &d)
	require.Error(t, err)
	require.True(t, strings.Contains(err.Error(), "30m"))
}

func BenchmarkTransformCustomerToCRM(b *testing.B) {
	r := setup(b)
	m, _ := Default(Customer)
	rec := adatum()
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := TransformToCRM(ctx, &m, rec, r, false); err != nil {
			b.Fatal(err)
		}
	}
}
