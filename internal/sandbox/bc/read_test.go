package bc

import (
	"encoding/xml"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestDemoData(t *testing.T) {
	t.Parallel()
	e := setup(t)
	cs := e.do("GET", "customers", "").values(t)
	want := map[string][2]string{
		"10000": {"Adatum Corporation", "robert.townes@contoso.com"}, "20000": {"Trey Research", "helen.ray@contoso.com"},
		"30000": {"School of Fine Art", "meagan.bond@contoso.com"}, "40000": {"Alpine Ski House", "ian.deberry@contoso.com"},
		"50000": {"Relecloud", "jesse.homer@contoso.com"},
	}
	require.Len(t, cs, 5)
	for _, c := range cs {
		w := want[c["number"].(string)]
		require.Equal(t, w[0], c["displayName"])
		require.Equal(t, w[1], c["email"])
		require.Equal(t, "GBP", c["currencyCode"])
		require.Equal(t, "_x0020_", c["blocked"])
		require.Equal(t, "JO", c["salespersonCode"])
	}
	items := e.do("GET", "items", "").values(t)
	require.Len(t, items, 20)
	require.Equal(t, "1896-S", items[0]["number"])
	require.Equal(t, "ATHENS Desk", items[0]["displayName"])
	require.InDelta(t, 649.4, items[0]["unitPrice"], 1e-9)
	require.InDelta(t, 506.6, items[0]["unitCost"], 1e-9)
	for _, it := range items {
		require.InDelta(t, 500, it["inventory"], 1e-9, it["number"])
		require.Equal(t, "PCS", it["baseUnitOfMeasureCode"])
	}
	contacts := e.do("GET", "contacts?$filter=type eq 'Person' and companyName eq 'Adatum Corporation'", "").values(t)
	require.Len(t, contacts, 1)
	require.Equal(t, "Robert Townes", contacts[0]["displayName"])
	require.Equal(t, "CT000014", contacts[0]["number"])
	sp := e.do("GET", "salespeoplePurchasers?$filter=code eq 'JO'", "").values(t)
	require.Equal(t, "Jim Olive", sp[0]["displayName"])
	require.InDelta(t, 5, sp[0]["commisionPercent"], 1e-9)
	require.Len(t, e.do("GET", "vendors", "").values(t), 5)
	require.Len(t, e.do("GET", "currencies", "").values(t), 20)
	require.Len(t, e.do("GET", "unitsOfMeasure", "").values(t), 18)
	require.Len(t, e.do("GET", "paymentTerms", "").values(t), 11)
	require.Len(t, e.do("GET", "shipmentMethods", "").values(t), 15)
	require.Len(t, e.do("GET", "salesQuotes", "").values(t), 2)
	require.Len(t, e.do("GET", "salesInvoices", "").values(t), 7)
	require.Len(t, e.do("GET", "itemLedgerEntries", "").values(t), 20)
	orders := e.do("GET", "salesOrders?$filter=number eq '101002'&$expand=salesOrderLines", "").values(t)
	require.Len(t, orders, 1)
	o := orders[0]
	require.InDelta(t, 1482.2, o["totalAmountExcludingTax"], 1e-9)
	require.InDelta(t, 1852.75, o["totalAmountIncludingTax"], 1e-9) // 25 % VAT (DOMESTIC)
	require.Equal(t, "Draft", o["status"])
	lines := o["salesOrderLines"].([]any)
	require.Len(t, lines, 2)
	require.Equal(t, "1968-S", lines[0].(map[string]any)["lineObjectNumber"])
	require.Equal(t, "Item", lines[0].(map[string]any)["lineType"])
	inv := e.do("GET", "salesInvoices?$filter=number eq '102203'", "").values(t)[0]
	require.InDelta(t, 4204.0, inv["totalAmountIncludingTax"], 1e-9) // export: no VAT
}

func TestQueryOptions(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name, query string
		numbers     []string
	}{
		{"eq", "customers?$filter=city eq 'London'", []string{"20000"}},
		{"or same field", "customers?$filter=city eq 'London' or city eq 'Miami'", []string{"20000", "30000"}},
		{"contains", "customers?$filter=contains(displayName,'Research')", []string{"20000"}},
		{"startswith", "customers?$filter=startswith(displayName,'A')", []string{"10000", "40000"}},
		{"endswith", "customers?$filter=endswith(email,'homer@contoso.com')", []string{"50000"}},
		{"ne and", "customers?$filter=country ne 'GB' and country ne 'US'", []string{"40000"}},
		{"orderby desc", "customers?$orderby=displayName desc&$top=2", []string{"20000", "30000"}},
		{"top skip", "customers?$top=2&$skip=1", []string{"20000", "30000"}},
		{"number gt", "items?$filter=number gt '1990'&$select=number", []string{"1996-S", "2000-S"}},
		{"decimal", "items?$filter=unitPrice gt 500", []string{"1896-S", "1996-S"}},
		{"date", "salesOrders?$filter=orderDate ge 2026-04-01", []string{"101003", "101004"}},
		{"guid key", "customers?$filter=id eq " + seedID("customers", "30000"), []string{"30000"}},
		// A read by ids (from the key index): key order, each once, unknown ids left out, GUIDs in any case.
		{"ids", "customers?$filter=id eq " + seedID("customers", "30000") + " or id eq " + strings.ToUpper(seedID("customers", "10000")) + " or id eq 00000000-0000-0000-0000-000000000001 or id eq " + seedID("customers", "30000"), []string{"10000", "30000"}},
		{"ids and more", "customers?$filter=(id eq " + seedID("customers", "30000") + " or id eq " + seedID("customers", "10000") + ") and city eq 'Miami'", []string{"30000"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := e.do("GET", tc.query, "")
			require.Equal(t, http.StatusOK, r.status, string(r.body))
			var got []string
			for _, v := range r.values(t) {
				got = append(got, v["number"].(string))
			}
			require.Equal(t, tc.numbers, got)
			require.NotContains(t, r.json(t), "@odata.nextLink")
		})
	}
}

func TestQueryErrors(t *testing.T) {
	t.Parallel()
	e := setup(t)
	tests := []struct {
		name, query string
		status      int
		code, msg   string
	}{
		{"or across fields", "customers?$filter=city eq 'London' or country eq 'US'", 400, "BadRequest", "The 'OR' operator is not supported on distinct fields"},
		{"unknown filter field", "customers?$filter=colour eq 'red'", 400, "BadRequest", "Could not find a property named 'colour' on type 'Microsoft.NAV.customer'"},
		{"unknown select", "customers?$select=number,colour", 400, "BadRequest", "'colour'"},
		{"unknown orderby", "customers?$orderby=colour", 400, "BadRequest", "'colour'"},
		{"bad expand", "customers?$expand=salesOrderLines", 400, "BadRequest", "salesOrderLines"},
		{"bad filter syntax", "customers?$filter=number eq", 400, "BadRequest", "$filter"},
		{"lines without document", "salesOrderLines", 400, "Application_DialogException", "You must specify an Id or a Document Id to get the lines."},
		{"unknown set", "widgets", 404, "BadRequest_ResourceNotFound", "Resource not found for the segment 'widgets'"},
		{"unknown key", "customers(00000000-0000-0000-0000-000000000001)", 404, "Internal_RecordNotFound", "does not exist"},
		{"price lists do not exist", "customerPriceGroups", 404, "BadRequest_ResourceNotFound", "customerPriceGroups"},
		{"no release action", "salesOrders(" + seedID("salesOrders", "101001") + ")/Microsoft.NAV.release", 404, "BadRequest_ResourceNotFound", "Microsoft.NAV.release"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			method := "GET"
			if tc.name == "no release action" {
				method = "POST"
			}
			r := e.do(method, tc.query, "")
			require.Equal(t, tc.status, r.status, string(r.body))
			require.Equal(t, tc.code, r.errCode(t))
			require.Contains(t, r.errMsg(t), tc.msg)
		})
	}
}

func TestSelectCountExpandAndSingle(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("GET", "customers?$select=email,number&$count=true&$top=1", "")
	m := r.json(t)
	require.EqualValues(t, 5, m["@odata.count"])
	v := r.values(t)[0]
	require.Equal(t, []string{"@odata.etag", "email", "number"}, sortedKeys(v))
	// BC answers in page order: number before email
	require.Regexp(t, `"number":"10000","email"`, string(r.body))

	id := seedID("customers", "10000")
	r = e.do("GET", "customers("+id+")", "")
	require.Equal(t, http.StatusOK, r.status)
	one := r.json(t)
	require.Contains(t, one["@odata.context"], "/$metadata#companies("+e.srv.Credentials().CompanyID+")/customers/$entity")
	require.Equal(t, one["@odata.etag"], r.header.Get("ETag"))
	require.Regexp(t, `^W/"[A-Za-z0-9+/=]+"$`, r.header.Get("ETag"))

	r = e.do("GET", "customers/$count", "")
	require.Equal(t, "5", string(r.body))

	oid := seedID("salesOrders", "101002")
	lines := e.do("GET", "salesOrders("+oid+")/salesOrderLines", "").values(t)
	require.Len(t, lines, 2)
	require.EqualValues(t, 10000, lines[0]["sequence"])
	byDoc := e.do("GET", "salesOrderLines?$filter=documentId eq "+oid, "").values(t)
	require.Len(t, byDoc, 2)
	r = e.do("GET", "salesOrders("+oid+")/salesOrderLines("+lines[1]["id"].(string)+")", "")
	require.Equal(t, http.StatusOK, r.status)
	require.Equal(t, "1928-S", r.json(t)["lineObjectNumber"])

	// ?company= instead of companies({id})
	r = e.do("GET", e.root+"/customers?company="+e.srv.Credentials().CompanyName+"&$top=1", "")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Len(t, r.values(t), 1)
}

func TestPaging(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *Options) { o.Scale = 95 })
	next := "customers?$select=number&$count=true"
	seen := map[string]bool{}
	pages := 0
	for next != "" && pages < 50 {
		r := e.do("GET", next, "", "Prefer", "odata.maxpagesize=10")
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		require.Equal(t, "odata.maxpagesize=10", r.header.Get("Preference-Applied"))
		for _, v := range r.values(t) {
			n := v["number"].(string)
			require.False(t, seen[n], "duplicate %s", n)
			seen[n] = true
		}
		pages++
		require.EqualValues(t, 100, r.json(t)["@odata.count"])
		next, _ = r.json(t)["@odata.nextLink"].(string)
		if next != "" {
			require.Contains(t, next, "$skiptoken=")
			require.Contains(t, next, e.hs.URL)
		}
	}
	require.Equal(t, 100, len(seen))
	require.Equal(t, 10, pages)

	// with $orderby paging uses offsets and stays complete
	next, seen, pages = "customers?$orderby=displayName desc&$select=number,displayName", map[string]bool{}, 0
	prev := "\uffff"
	for next != "" && pages < 50 {
		r := e.do("GET", next, "", "Prefer", "odata.maxpagesize=30")
		for _, v := range r.values(t) {
			require.LessOrEqual(t, v["displayName"].(string), prev)
			prev = v["displayName"].(string)
			seen[v["number"].(string)] = true
		}
		pages++
		next, _ = r.json(t)["@odata.nextLink"].(string)
	}
	require.Equal(t, 100, len(seen))
	require.Equal(t, 4, pages)

	// $top gives no nextLink even beyond the page size
	r := e.do("GET", "customers?$top=50", "", "Prefer", "odata.maxpagesize=10")
	require.Len(t, r.values(t), 50)
	require.NotContains(t, r.json(t), "@odata.nextLink")
}

// TestOrderedPagesAfterAWrite: the pages of an ordered read come from
// rows sorted once, until a write: a customer changed between two pages
// moves to the end of a read by lastModifiedDateTime, with its new values.
func TestOrderedPagesAfterAWrite(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 11, 25, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		now = now.Add(time.Second)
		return now
	}
	e := setup(t, func(o *Options) { o.Scale = 25; o.Clock = clock })
	read := func(next string) (numbers, names []string, link string) {
		r := e.do("GET", next, "", "Prefer", "odata.maxpagesize=10")
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		for _, v := range r.values(t) {
			numbers = append(numbers, v["number"].(string))
			names = append(names, v["displayName"].(string))
		}
		link, _ = r.json(t)["@odata.nextLink"].(string)
		return numbers, names, link
	}
	first, _, next := read("customers?$orderby=lastModifiedDateTime&$select=number,displayName,lastModifiedDateTime")
	require.Len(t, first, 10)
	// Reading the next page twice gives the same rows (the second from the sorted rows kept).
	again, _, _ := read(next)
	second, _, _ := read(next)
	require.Equal(t, again, second)

	id := seedID("customers", first[0])
	g := e.do("GET", "customers("+id+")", "")
	r := e.do("PATCH", "customers("+id+")", `{"displayName":"Moved to the end"}`, "If-Match", g.header.Get("ETag"))
	require.Equal(t, http.StatusOK, r.status, string(r.body))

	var numbers, names []string
	for next != "" {
		var n, m []string
		n, m, next = read(next)
		numbers, names = append(numbers, n...), append(names, m...)
	}
	require.Equal(t, first[0], numbers[len(numbers)-1], "the changed customer is read last")
	require.Equal(t, "Moved to the end", names[len(names)-1])
}

func TestMetadataAndServiceDocument(t *testing.T) {
	t.Parallel()
	e := setup(t)
	r := e.do("GET", e.root+"/$metadata", "")
	require.Equal(t, http.StatusOK, r.status)
	var doc struct {
		DataServices struct {
			Schema struct {
				Namespace  string `xml:"Namespace,attr"`
				EntityType []struct {
					Name     string `xml:"Name,attr"`
					Property []struct {
						Name string `xml:"Name,attr"`
						Type string `xml:"Type,attr"`
					} `xml:"Property"`
				} `xml:"EntityType"`
				Action []struct {
					Name string `xml:"Name,attr"`
				} `xml:"Action"`
				EntityContainer struct {
					EntitySet []struct {
						Name string `xml:"Name,attr"`
					} `xml:"EntitySet"`
				} `xml:"EntityContainer"`
			} `xml:"Schema"`
		} `xml:"DataServices"`
	}
	require.NoError(t, xml.Unmarshal(r.body, &doc))
	s := doc.DataServices.Schema
	require.Equal(t, "Microsoft.NAV", s.Namespace)
	var sets, actions []string
	for _, x := range s.EntityContainer.EntitySet {
		sets = append(sets, x.Name)
	}
	for _, a := range s.Action {
		actions = append(actions, a.Name)
	}
	require.Contains(t, sets, "salespeoplePurchasers")
	require.NotContains(t, sets, "customerPriceGroups")
	require.NotContains(t, sets, "users")
	require.ElementsMatch(t, []string{"shipAndInvoice", "makeInvoice", "makeOrder", "send", "post"}, actions)
	for _, et := range s.EntityType {
		if et.Name == "item" {
			require.Equal(t, "inventory", et.Property[9].Name)
			require.Equal(t, "Edm.Decimal", et.Property[9].Type)
		}
	}
	sd := e.do("GET", e.root+"/", "").values(t)
	require.Equal(t, "companies", sd[0]["name"])
	comps := e.do("GET", e.root+"/companies", "").values(t)
	require.Len(t, comps, 1)
	require.Equal(t, "CRONUS International Ltd.", comps[0]["name"])
	users := e.do("GET", e.hs.URL+e.srv.AutomationRootPath()+"/companies("+e.srv.Credentials().CompanyID+")/users", "").values(t)
	require.GreaterOrEqual(t, len(users), 2)
	require.Equal(t, "Enabled", users[0]["state"])
	require.Contains(t, users[0], "userSecurityId")
}

func sortedKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	for i := range ks {
		for j := i + 1; j < len(ks); j++ {
			if ks[j] < ks[i] {
				ks[i], ks[j] = ks[j], ks[i]
			}
		}
	}
	return ks
}

var _ = strconv.Itoa

func TestConcurrentReadsAfterWrites(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *Options) { o.Scale = 200 })
	// a rename leaves the order dirty; concurrent readers rebuild it once, safely
	r := e.do("PATCH", "customers("+seedID("customers", "S0000001")+")", `{"number":"00001"}`, "If-Match", "*")
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	done := make(chan []map[string]any, 4)
	for range 4 {
		go func() { done <- e.do("GET", "customers?$top=1&$select=number", "").values(t) }()
	}
	for range 4 {
		v := <-done
		require.Equal(t, "00001", v[0]["number"])
	}
	v := e.do("GET", "customers?$filter=number lt '20000'&$select=number", "").values(t)
	require.Len(t, v, 2)
	require.Equal(t, "00001", v[0]["number"])
}

func TestAutomationUsers(t *testing.T) {
	t.Parallel()
	e := setup(t)
	base := e.hs.URL + e.srv.AutomationRootPath() + "/companies(" + e.srv.Credentials().CompanyID + ")/users"
	us := e.do("GET", base+"?$filter=userName eq 'JO'", "").values(t)
	require.Len(t, us, 1)
	require.Equal(t, "jo@contoso.com", us[0]["contactEmail"])
	id := us[0]["userSecurityId"].(string)
	r := e.do("PATCH", base+"("+id+")", `{"state":"Disabled"}`, "If-Match", us[0]["@odata.etag"].(string))
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	require.Equal(t, "Disabled", r.json(t)["state"])
	require.Equal(t, http.StatusMethodNotAllowed, e.do("POST", base, `{"userName":"X"}`).status)
	require.Equal(t, http.StatusMethodNotAllowed, e.do("DELETE", base+"("+id+")", "", "If-Match", "*").status)
	require.Equal(t, http.StatusNotFound, e.do("GET", e.comp+"/users", "").status)
}

func TestOrderKeptOnInsert(t *testing.T) {
	t.Parallel()
	e := setup(t, func(o *Options) { o.Scale = 50 })
	for _, n := range []string{"S0000010A", "00005", "99999"} {
		r := e.do("POST", "customers", `{"number":"`+n+`","displayName":"x"}`)
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
	}
	require.False(t, e.srv.company.tables["customers"].dirty)
	var got []string
	for _, v := range e.do("GET", "customers?$select=number", "").values(t) {
		got = append(got, v["number"].(string))
	}
	require.True(t, slices.IsSorted(got), "%v", got)
	require.Len(t, got, 58)
}
