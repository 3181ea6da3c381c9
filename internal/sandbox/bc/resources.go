package bc

import (
	"cmp"
	"encoding/json"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"unicode/utf8"
)

// resource is a Business Central Resource (table 156): a person or machine sold by the
// hour on Resource lines. API v2.0 has no page for resources, so they live beside the
// entity sets and are managed through /_sandbox/resources, as a user would on the
// Resources page. Fields are exported for the snapshot (gob).
type resource struct {
	Number            string  `json:"number"`
	Name              string  `json:"name"`
	UnitOfMeasureCode string  `json:"unitOfMeasureCode"` // Base Unit of Measure
	UnitPrice         float64 `json:"unitPrice"`
}

// resourceNotFound is BC's error when a Sales Line's No. names no Resource (the
// validation of the table relation on No. for Type Resource).
func resourceNotFound(number string) *apiError {
	return dialog("The Resource does not exist. Identification fields and values: No.='%s'", number)
}

// seedResources loads the demo company's resources.
func (c *company) seedResources() error {
	var recs []resource
	if err := readFixture("resources.json", &recs); err != nil {
		return err
	}
	for _, r := range recs {
		if aerr := c.checkResource(r); aerr != nil {
			return aerr
		}
		c.resources[r.Number] = r
	}
	return nil
}

// checkResource validates a resource as the Resource card does.
func (c *company) checkResource(r resource) *apiError {
	if r.Number == "" || utf8.RuneCountInString(r.Number) > 20 {
		return errf(http.StatusBadRequest, codeBadRequest, "A resource number has 1 to 20 characters; got %q.", r.Number)
	}
	if n := utf8.RuneCountInString(r.Name); n > 100 {
		return errf(http.StatusBadRequest, codeStringTooLong, "The length of the string is %d, but it must be less than or equal to 100 characters. Value: %s", n, r.Name)
	}
	if r.UnitPrice < 0 {
		return dialog("Unit Price must not be negative in Resource No.='%s'.", r.Number)
	}
	if r.UnitOfMeasureCode != "" && c.byCode("unitsOfMeasure", r.UnitOfMeasureCode) == nil {
		return dialog("The Unit of Measure does not exist. Identification fields and values: Code='%s'", r.UnitOfMeasureCode)
	}
	return nil
}

// resolveResource fills a new Resource line from its resource, as BC's Sales Line does
// when No. is validated: description, unit of measure and unit price, unless given.
func (c *company) resolveResource(t *table, vals map[int]any, cur *row) *apiError {
	s := t.set
	objNo, hasNo := vals[s.index["lineObjectNumber"]]
	if cur != nil && !hasNo {
		return nil // the number cannot change (lineUpdate refuses it)
	}
	number, _ := objNo.(string)
	res, ok := c.resources[strings.ToUpper(number)]
	if !ok {
		return resourceNotFound(number)
	}
	vals[s.index["lineObjectNumber"]] = res.Number
	def := func(name string, v any) {
		if _, given := vals[s.index[name]]; !given {
			vals[s.index[name]] = v
		}
	}
	def("description", res.Name)
	if u := c.byCode("unitsOfMeasure", res.UnitOfMeasureCode); u != nil {
		def("unitOfMeasureId", u.id)
		def("unitOfMeasureCode", res.UnitOfMeasureCode)
	}
	def("unitPrice", res.UnitPrice)
	def("taxCode", "STANDARD")
	return nil
}

// ctlResources serves GET /_sandbox/resources: every resource, by number.
func (s *Server) ctlResources(w http.ResponseWriter, _ *http.Request) {
	c := s.company
	c.mu.RLock()
	list := slices.SortedFunc(maps.Values(c.resources), func(a, b resource) int { return cmp.Compare(a.Number, b.Number) })
	c.mu.RUnlock()
	body, _ := json.Marshal(map[string]any{"value": list})
	writeJSON(w, http.StatusOK, body, "")
}

// ctlPutResource serves PUT /_sandbox/resources/{number}: creates or replaces a resource.
func (s *Server) ctlPutResource(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Name              string   `json:"name"`
		UnitOfMeasureCode string   `json:"unitOfMeasureCode"`
		UnitPrice         *float64 `json:"unitPrice"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, maxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		writeAPIError(w, errf(http.StatusBadRequest, codeBadRequest, `Invalid body: %v; send {"name":"…","unitOfMeasureCode":"HOUR","unitPrice":90}.`, err))
		return
	}
	res := resource{Number: strings.ToUpper(r.PathValue("number")), Name: req.Name, UnitOfMeasureCode: strings.ToUpper(req.UnitOfMeasureCode)}
	if req.UnitPrice != nil {
		res.UnitPrice = *req.UnitPrice
	}
	c := s.company
	c.mu.Lock()
	defer c.mu.Unlock()
	if aerr := c.checkResource(res); aerr != nil {
		writeAPIError(w, aerr)
		return
	}
	status := http.StatusOK
	if _, exists := c.resources[res.Number]; !exists {
		status = http.StatusCreated
	}
	c.resources[res.Number] = res
	body, _ := json.Marshal(res)
	writeJSON(w, status, body, "")
}

// ctlDeleteResource serves DELETE /_sandbox/resources/{number}; lines already on
// documents keep their number (new lines with it are refused).
func (s *Server) ctlDeleteResource(w http.ResponseWriter, r *http.Request) {
	number := strings.ToUpper(r.PathValue("number"))
	c := s.company
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.resources[number]; !ok {
		writeAPIError(w, errf(http.StatusNotFound, codeRecordNotFound, "The Resource does not exist. Identification fields and values: No.='%s'", number))
		return
	}
	delete(c.resources, number)
	w.WriteHeader(http.StatusNoContent)
}
