package bc

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
)

// control serves /_sandbox/…: what an ERP user does by hand in the web client, for tests
// and the demo. These paths are outside the API and need no credentials (loopback only).
//
//	GET   /_sandbox/healthz                            {"status":"ok"}
//	GET   /_sandbox/info                               company, API roots, table sizes
//	POST  /_sandbox/salesOrders/{number}/release        status Open (Released)
//	POST  /_sandbox/salesOrders/{number}/reopen         status Draft (Open in BC)
//	POST  /_sandbox/salesOrders/{number}/ship           {"lines":[{"sequence":10000,"quantity":2}]}; no body = ship all
//	POST  /_sandbox/salesInvoices/{number}/pay          a posted invoice becomes Paid
//	POST  /_sandbox/items/{number}/adjust               {"quantity": 25} positive or negative adjustment
//	PATCH /_sandbox/{set}/{number}                      edit a record as a user would (no If-Match)
//	GET   /_sandbox/resources                          resources (no API v2.0 entity set has them)
//	PUT   /_sandbox/resources/{number}                 {"name":"Marty Horst","unitOfMeasureCode":"HOUR","unitPrice":90}
//	DELETE /_sandbox/resources/{number}                remove a resource
func (s *Server) control(w http.ResponseWriter, r *http.Request, rest string) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /info", s.ctlInfo)
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, []byte(`{"status":"ok"}`), "")
	})
	mux.HandleFunc("POST /salesOrders/{number}/release", s.ctlStatus("Open"))
	mux.HandleFunc("POST /salesOrders/{number}/reopen", s.ctlStatus("Draft"))
	mux.HandleFunc("POST /salesOrders/{number}/ship", s.ctlShip)
	mux.HandleFunc("POST /salesInvoices/{number}/pay", s.ctlPay)
	mux.HandleFunc("POST /items/{number}/adjust", s.ctlAdjust)
	mux.HandleFunc("PATCH /{set}/{number}", s.ctlEdit)
	mux.HandleFunc("GET /resources", s.ctlResources)
	mux.HandleFunc("PUT /resources/{number}", s.ctlPutResource)
	mux.HandleFunc("DELETE /resources/{number}", s.ctlDeleteResource)
	r2 := r.Clone(r.Context())
	r2.URL.Path = "/" + rest
	if _, pattern := mux.Handler(r2); pattern == "" {
		writeAPIError(w, errf(http.StatusNotFound, codeNotFound, "No sandbox control endpoint matches %s %s; see GET /_sandbox/info.", r.Method, r.URL.Path))
		return
	}
	mux.ServeHTTP(w, r2) // sets the path values
}

func (s *Server) ctlInfo(w http.ResponseWriter, r *http.Request) {
	c := s.company
	c.mu.RLock()
	sizes := map[string]int{}
	for n, t := range c.tables {
		sizes[n] = len(t.rows)
	}
	sizes["resources"] = len(c.resources)
	c.mu.RUnlock()
	body, _ := json.Marshal(map[string]any{
		"companyId": c.id, "companyName": c.name, "tenant": s.creds.Tenant, "environment": s.creds.Environment,
		"apiRoot": s.APIRootPath(), "onPremApiRoot": s.OnPremAPIRootPath(), "automationRoot": s.AutomationRootPath(),
		"webClient": s.WebClientPath(), "records": sizes,
	})
	writeJSON(w, http.StatusOK, body, "")
}

func (s *Server) document(w http.ResponseWriter, r *http.Request, set string) (*table, *row, bool) {
	t := s.company.tables[set]
	x := t.byNumber[r.PathValue("number")]
	if x == nil {
		writeAPIError(w, errf(http.StatusNotFound, codeRecordNotFound, "The %s does not exist. Identification fields and values: No.='%s'", t.set.entity, r.PathValue("number")))
		return nil, nil, false
	}
	return t, x, true
}

func (s *Server) ctlStatus(status string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := s.company
		c.mu.Lock()
		defer c.mu.Unlock()
		t, x, ok := s.document(w, r, "salesOrders")
		if !ok {
			return
		}
		c.set(nil, t, x, map[int]any{t.set.index["status"]: status})
		s.writeRow(w, t, x)
	}
}

func (s *Server) writeRow(w http.ResponseWriter, t *table, x *row) {
	var b bytes.Buffer
	writeRecord(&b, t, x, nil, "", nil)
	writeJSON(w, http.StatusOK, b.Bytes(), etag(x))
}

func (s *Server) ctlShip(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Lines []struct {
			Sequence int64   `json:"sequence"`
			Quantity float64 `json:"quantity"`
		} `json:"lines"`
	}
	body, _ := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if len(bytes.TrimSpace(body)) > 0 {
		if err := json.Unmarshal(body, &req); err != nil {
			writeAPIError(w, errf(http.StatusBadRequest, codeBadRequest, `Invalid body: %v; send {"lines":[{"sequence":10000,"quantity":2}]} or nothing to ship everything.`, err))
			return
		}
	}
	c := s.company
	c.mu.Lock()
	defer c.mu.Unlock()
	t, x, ok := s.document(w, r, "salesOrders")
	if !ok {
		return
	}
	lt := c.tables["salesOrderLines"]
	ls := lt.lines(x.id)
	qty := map[*row]float64{}
	if len(req.Lines) == 0 {
		for _, l := range ls {
			qty[l] = lt.num(l, "quantity") - lt.num(l, "shippedQuantity")
		}
	}
	for _, want := range req.Lines {
		found := false
		for _, l := range ls {
			if lt.val(l, lt.set.index["sequence"]) == want.Sequence {
				qty[l], found = want.Quantity, true
			}
		}
		if !found {
			writeAPIError(w, dialog("Order %s has no line with sequence %d.", t.str(x, "number"), want.Sequence))
			return
		}
	}
	u := &undo{}
	if aerr := c.shipLines(u, t, x, ls, func(l *row) float64 { return qty[l] }); aerr != nil {
		c.rollback(u)
		writeAPIError(w, aerr)
		return
	}
	s.writeRow(w, t, x)
}

func (s *Server) ctlPay(w http.ResponseWriter, r *http.Request) {
	c := s.company
	c.mu.Lock()
	defer c.mu.Unlock()
	t, x, ok := s.document(w, r, "salesInvoices")
	if !ok {
		return
	}
	if t.str(x, "status") != "Open" {
		writeAPIError(w, dialog("Invoice %s is %s; only an open posted invoice can be paid.", t.str(x, "number"), t.str(x, "status")))
		return
	}
	c.addBalance(nil, t.str(x, "customerId"), -t.num(x, "remainingAmount"))
	c.set(nil, t, x, map[int]any{t.set.index["status"]: "Paid", t.set.index["remainingAmount"]: float64(0)})
	s.writeRow(w, t, x)
}

func (s *Server) ctlAdjust(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Quantity *float64 `json:"quantity"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil || req.Quantity == nil || *req.Quantity == 0 {
		writeAPIError(w, errf(http.StatusBadRequest, codeBadRequest, `Send {"quantity": n} with a non-zero n (negative lowers the stock).`))
		return
	}
	c := s.company
	c.mu.Lock()
	defer c.mu.Unlock()
	t, x, ok := s.document(w, r, "items")
	if !ok {
		return
	}
	q := *req.Quantity
	kind := "Positive_x0020_Adjmt_x002E_"
	if q < 0 {
		kind = "Negative_x0020_Adjmt_x002E_"
	}
	c.addLedgerEntry(nil, x, c.workDate(), kind, "_x0020_", "", "_x0020_", "SANDBOX", q, 0, q*t.num(x, "unitCost"))
	s.writeRow(w, t, x)
}

func (s *Server) ctlEdit(w http.ResponseWriter, r *http.Request) {
	c := s.company
	t, ok := c.tables[r.PathValue("set")]
	if !ok || t.byNumber == nil {
		writeAPIError(w, errf(http.StatusNotFound, codeResourceNotFound, "No record set %q with numbers or codes; use customers, vendors, contacts, items, salesOrders, …", r.PathValue("set")))
		return
	}
	body, aerr := readBody(r)
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	vals, _, aerr := decodeBody(t.set, body, "")
	if aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	x := t.byNumber[r.PathValue("number")]
	if x == nil {
		writeAPIError(w, errf(http.StatusNotFound, codeRecordNotFound, "The %s does not exist. Identification fields and values: No.='%s'", t.set.entity, r.PathValue("number")))
		return
	}
	u := &undo{}
	if aerr := c.update(u, t, x, vals); aerr != nil {
		c.rollback(u)
		writeAPIError(w, aerr)
		return
	}
	s.writeRow(w, t, x)
}
