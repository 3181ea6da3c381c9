package orders_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/orders"
)

// docLine is a CRM order or quote line by product number.
type docLine struct {
	product       string
	qty, price    float64
	wantType, obj string // the ERP line it must become
}

func productID(t *testing.T, e *env, number string) string {
	t.Helper()
	for p, err := range e.crm.All(context.Background(), "products", dataverse.Query{Select: []string{"productid"}, Filter: "productnumber eq '" + number + "'"}) {
		require.NoError(t, err)
		return p.String("productid")
	}
	t.Fatalf("no CRM product %s", number)
	return ""
}

// submitDoc creates a CRM order (Submitted) or quote (Active) for account
// 10000's CRM twin with the given lines.
func submitDoc(t *testing.T, e *env, kind, number string, lines []docLine) {
	t.Helper()
	ctx := context.Background()
	acc := crmOrder(t, e, "ORD-01001-DEMO01").String("_customerid_value")
	set, numCol, lineSet, parent := "salesorders", "ordernumber", "salesorderdetails", "salesorderid"
	state := map[string]any{"statecode": 1, "statuscode": 3}
	if kind == orders.KindQuote {
		set, numCol, lineSet, parent = "quotes", "quotenumber", "quotedetails", "quoteid"
		state = map[string]any{"statecode": 1, "statuscode": 2}
	}
	id, err := e.crm.Create(ctx, set, map[string]any{"name": "Doc " + number, numCol: number, "customerid_account@odata.bind": "/accounts(" + acc + ")"})
	require.NoError(t, err)
	for i, l := range lines {
		_, err := e.crm.Create(ctx, lineSet, map[string]any{parent + "@odata.bind": "/" + set + "(" + id + ")",
			"productid@odata.bind": "/products(" + productID(t, e, l.product) + ")", "quantity": l.qty, "priceperunit": l.price, "sequencenumber": i + 1})
		require.NoError(t, err)
	}
	require.NoError(t, e.crm.Update(ctx, set, dataverse.ID(id), state, ""))
}

// putResource creates an ERP resource as a user would on the Resources page
// (API v2.0 has no resources entity set).
func putResource(t *testing.T, e *env, number, body string) {
	t.Helper()
	erpBase := e.sb.Ready().ERPURL
	req, err := http.NewRequest(http.MethodPut, erpBase[:strings.Index(erpBase, "/v2.0")]+"/_sandbox/resources/"+number, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
}

// requireLines checks the ERP document's non-comment lines against the CRM lines.
func requireLines(t *testing.T, got []bc.SalesDocumentLine, want []docLine) {
	t.Helper()
	var ls []bc.SalesDocumentLine
	for _, l := range got {
		if l.LineType != "Comment" {
			ls = append(ls, l)
		}
	}
	require.Len(t, ls, len(want))
	for i, w := range want {
		require.Equal(t, w.wantType, ls[i].LineType, "line %d", i+1)
		require.Equal(t, w.obj, ls[i].LineObjectNumber, "line %d", i+1)
		require.InDelta(t, w.qty, ls[i].Quantity, 1e-9, "line %d", i+1)
		require.InDelta(t, w.price, ls[i].UnitPrice, 1e-9, "line %d", i+1)
	}
}

func TestServiceProductsBecomeResourceLines(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	// A CRM service product numbered like the ERP resource MARTY (Contoso's installer).
	_, err := e.crm.Create(ctx, "products", map[string]any{"productnumber": "MARTY", "name": "Installation, per hour",
		"producttypecode": 3, "productstructure": 1, "quantitydecimal": 2})
	require.NoError(t, err)
	require.NoError(t, e.st.PutSetting(ctx, orders.SettingWriteInItem, "1900-S")) // the demo's write-in order goes through too

	withResource := []docLine{{"1928-S", 3, 35.60, "Item", "1928-S"}, {"MARTY", 4, 85, "Resource", "MARTY"}}
	missing := []docLine{{"1928-S", 1, 35.60, "Item", "1928-S"}, {"CRM-SVC-01", 2, 75, "Resource", "CRM-SVC-01"}}
	submitDoc(t, e, orders.KindOrder, "S-SERVICE", withResource)
	submitDoc(t, e, orders.KindOrder, "S-MISSING", missing)

	out, err := e.svc.CreateOrders(ctx, "")
	require.NoError(t, err)
	byNo := map[string]orders.Outcome{}
	for _, o := range out {
		byNo[o.CRMNumber] = o
	}
	require.Len(t, byNo, 4)
	for _, n := range []string{"ORD-01001-DEMO01", "ORD-01002-DEMO02", "S-SERVICE"} {
		require.Equal(t, "created", byNo[n].Result, n+": "+byNo[n].Error)
	}
	so := e.erpOrders(t, "Doc S-SERVICE")
	require.Len(t, so, 1)
	requireLines(t, so[0].SalesOrderLines, withResource)
	require.Equal(t, "Marty Horst", so[0].SalesOrderLines[2].Description, "the ERP fills the line from its resource")
	require.InDelta(t, 3*35.60+4*85, so[0].TotalAmountExcludingTax, 0.01)

	// The order with a service product the ERP has no resource for fails
	// alone, saying which line, which product and what to do.
	failed := byNo["S-MISSING"]
	require.Equal(t, "failed", failed.Result)
	require.Equal(t, `order refused: CRM order S-MISSING line 2: the service product "On-site assembly service" becomes ERP resource CRM-SVC-01 (its product number), and the ERP has no such resource: `+
		"create a resource numbered CRM-SVC-01 in the ERP, or change the product's type in the CRM to Sales Inventory and couple it to an ERP item (mapping ITEM-PRODUCT), then run it again", failed.Error)
	require.Empty(t, e.erpOrders(t, "Doc S-MISSING"))
	pending, err := e.svc.Pending(ctx)
	require.NoError(t, err)
	require.Len(t, pending, 1)
	require.Equal(t, "failed", pending[0].Result)

	// With the resource created in the ERP the order goes through, once.
	putResource(t, e, "CRM-SVC-01", `{"name":"On-site assembly","unitOfMeasureCode":"HOUR","unitPrice":70}`)
	out, err = e.svc.CreateOrders(ctx, "")
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.Equal(t, "created", out[0].Result, out[0].Error)
	out, err = e.svc.CreateOrders(ctx, "S-MISSING")
	require.NoError(t, err)
	require.Equal(t, "existing", out[0].Result)
	so = e.erpOrders(t, "Doc S-MISSING")
	require.Len(t, so, 1)
	requireLines(t, so[0].SalesOrderLines, missing)
}

func TestServiceProductQuotes(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	lines := []docLine{{"CRM-SVC-01", 6, 75, "Resource", "CRM-SVC-01"}}
	submitDoc(t, e, orders.KindQuote, "Q-SERVICE", lines)

	out, err := e.svc.ProcessQuotes(ctx)
	require.NoError(t, err, "a refused quote does not stop the run")
	byNo := map[string]orders.Outcome{}
	for _, o := range out {
		byNo[o.CRMNumber] = o
	}
	require.Equal(t, "created", byNo["QUO-01001-DEMO01"].Result, byNo["QUO-01001-DEMO01"].Error)
	require.Equal(t, "failed", byNo["Q-SERVICE"].Result)
	require.Contains(t, byNo["Q-SERVICE"].Error, "CRM quote Q-SERVICE line 1: the service product \"On-site assembly service\" becomes ERP resource CRM-SVC-01")

	putResource(t, e, "CRM-SVC-01", `{"name":"On-site assembly","unitOfMeasureCode":"HOUR","unitPrice":70}`)
	out, err = e.svc.ProcessQuotes(ctx)
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.Equal(t, "created", out[0].Result, out[0].Error)
	q, ok := erpQuote(t, e, out[0].ERPNumber)
	require.True(t, ok)
	requireLines(t, q.SalesQuoteLines, lines)
}

// A revision that adds a service line the ERP has no resource for is
// refused and leaves the ERP quote as it was.
func TestQuoteRevisionWithMissingResourceKeepsTheQuote(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	first := []docLine{{"1928-S", 2, 35.60, "Item", "1928-S"}}
	submitDoc(t, e, orders.KindQuote, "Q-REV", first)
	out, err := e.svc.ProcessQuotes(ctx)
	require.NoError(t, err)
	var erpNo string
	for _, o := range out {
		if o.CRMNumber == "Q-REV" {
			require.Equal(t, "created", o.Result, o.Error)
			erpNo = o.ERPNumber
		}
	}
	require.NotEmpty(t, erpNo)

	old := crmQuote(t, e, "Q-REV")
	require.NoError(t, e.crm.Update(ctx, "quotes", dataverse.ID(old.String("quoteid")), map[string]any{"statecode": 3, "statuscode": 7}, ""))
	submitDoc(t, e, orders.KindQuote, "Q-REV", []docLine{{"1928-S", 5, 35.60, "Item", "1928-S"}, {"CRM-SVC-01", 1, 75, "Resource", "CRM-SVC-01"}})
	out, err = e.svc.ProcessQuotes(ctx)
	require.NoError(t, err)
	require.Len(t, out, 1)
	require.Equal(t, "failed", out[0].Result)
	require.Contains(t, out[0].Error, "CRM quote Q-REV line 2")
	q, ok := erpQuote(t, e, erpNo)
	require.True(t, ok)
	requireLines(t, q.SalesQuoteLines, first)
}

func TestUncoupledProductRefusals(t *testing.T) {
	t.Parallel()
	e := setup(t)
	ctx := context.Background()
	for _, p := range []map[string]any{
		{"productnumber": "CRM-GOODS-01", "name": "Uncoupled goods", "producttypecode": 1},
		{"productnumber": "SERVICE-NUMBER-TOO-LONG", "name": "Long service", "producttypecode": 3},
	} {
		_, err := e.crm.Create(ctx, "products", p)
		require.NoError(t, err)
	}
	tests := []struct {
		number, product, msg string
	}{
		{"U-GOODS", "CRM-GOODS-01", "CRM order U-GOODS line 1: product " + productID(t, e, "CRM-GOODS-01") + " is not coupled to an ERP item: couple it (mapping ITEM-PRODUCT)"},
		{"U-LONG", "SERVICE-NUMBER-TOO-LONG", `CRM order U-LONG line 1: the service product "Long service" has the product number "SERVICE-NUMBER-TOO-LONG", which cannot be an ERP resource number (1 to 20 characters)`},
	}
	for _, tc := range tests {
		submitDoc(t, e, orders.KindOrder, tc.number, []docLine{{product: tc.product, qty: 1, price: 10}})
	}
	for _, tc := range tests {
		t.Run(tc.number, func(t *testing.T) {
			t.Parallel()
			out, err := e.svc.CreateOrders(ctx, tc.number)
			require.NoError(t, err)
			require.Equal(t, "failed", out[0].Result)
			require.Contains(t, out[0].Error, tc.msg)
			require.Empty(t, e.erpOrders(t, "Doc "+tc.number), "refused before anything is sent")
		})
	}
}
