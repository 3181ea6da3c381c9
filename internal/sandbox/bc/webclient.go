package bc

import (
	"bytes"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf16"
)

//go:embed templates/*.html
var templateFS embed.FS

var pageTemplates = template.Must(template.ParseFS(templateFS, "templates/*.html"))

// webPage maps a web client page id to what it shows.
type webPage struct {
	set, title string
	table      int // BC table number, for bookmarks
	posted     bool
}

var webPages = map[int]webPage{
	21:   {"customers", "Customer Card", 18, false},
	22:   {"customers", "Customers", 18, false},
	26:   {"vendors", "Vendor Card", 23, false},
	30:   {"items", "Item Card", 27, false},
	31:   {"items", "Items", 27, false},
	41:   {"salesQuotes", "Sales Quote", 36, false},
	42:   {"salesOrders", "Sales Order", 36, false},
	43:   {"salesInvoices", "Sales Invoice", 36, false},
	132:  {"salesInvoices", "Posted Sales Invoice", 112, true},
	5050: {"contacts", "Contact Card", 5050, false},
}

// Bookmark encodes a record's key the way BC web client URLs carry it: "{table};{base64}"
// where the base64 holds a key header and the No. as UTF-16LE.
func Bookmark(table int, number string) string {
	u := utf16.Encode([]rune(number))
	b := []byte{0x12, 0, 0, 0, 0x02, 0x7B, byte(len(u))}
	for _, c := range u {
		b = append(b, byte(c), byte(c>>8))
	}
	return strconv.Itoa(table) + ";" + base64.StdEncoding.EncodeToString(b)
}

func decodeBookmark(s string) (string, bool) {
	_, enc, ok := strings.Cut(s, ";")
	if !ok {
		return "", false
	}
	b, err := base64.StdEncoding.DecodeString(enc)
	if err != nil {
		return "", false
	}
	i := bytes.IndexByte(b, 0x7B)
	if i < 0 || i+1 >= len(b) {
		return "", false
	}
	n := int(b[i+1])
	raw := b[i+2:]
	if len(raw) < 2*n {
		return "", false
	}
	u := make([]uint16, n)
	for k := range n {
		u[k] = uint16(raw[2*k]) | uint16(raw[2*k+1])<<8
	}
	return string(utf16.Decode(u)), true
}

var filterNo = regexp.MustCompile(`^\s*'?No\.'?\s*(?:IS|:|=)\s*'([^']*)'\s*$`)

type fieldView struct{ Name, Value string }

type recordView struct {
	Company, Title, Page, Number, Name, ID, Status string
	Fields                                         []fieldView
	LineHeaders                                    []string
	Lines                                          [][]string
	Links                                          []linkView
	Message                                        string
}

type linkView struct{ Href, Text string }

var lineColumns = []string{"sequence", "lineType", "lineObjectNumber", "description", "quantity", "unitOfMeasureCode", "unitPrice", "amountExcludingTax", "shippedQuantity"}

// webClient renders a record as the BC web client's card page would: ?company=…&page=21
// with &bookmark=… or &filter='No.' IS '10000' (or a list when neither is given).
func (s *Server) webClient(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c := s.company
	render := func(status int, v recordView) {
		v.Company = c.name
		var b bytes.Buffer
		if err := pageTemplates.ExecuteTemplate(&b, "record.html", v); err != nil {
			http.Error(w, "template: "+err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(status)
		_, _ = w.Write(b.Bytes())
	}
	if comp := q.Get("company"); comp != "" && comp != c.name && !strings.EqualFold(comp, c.id) {
		render(http.StatusNotFound, recordView{Title: "Company not found", Message: "The company '" + comp + "' does not exist. Use '" + c.name + "'."})
		return
	}
	pageID, _ := strconv.Atoi(q.Get("page"))
	if q.Get("page") == "" {
		pageID = 22
	}
	pg, ok := webPages[pageID]
	if !ok {
		render(http.StatusNotFound, recordView{Title: "Page not found", Message: "Page " + q.Get("page") + " is not part of the sandbox web client (21, 22, 26, 30, 31, 41, 42, 43, 132, 5050)."})
		return
	}
	number := ""
	if bm := q.Get("bookmark"); bm != "" {
		if n, ok := decodeBookmark(bm); ok {
			number = n
		} else {
			number = bm // a SystemId is accepted too
		}
	} else if f := q.Get("filter"); f != "" {
		m := filterNo.FindStringSubmatch(f)
		if m == nil {
			render(http.StatusBadRequest, recordView{Title: pg.title, Message: "The filter " + f + " is not understood; use 'No.' IS 'value'."})
			return
		}
		number = m[1]
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	t := c.tables[pg.set]
	if number == "" {
		v := recordView{Title: pg.title, Page: strconv.Itoa(pageID)}
		card := map[int]int{22: 21, 31: 30}[pageID]
		if card == 0 {
			card = pageID
		}
		for i, x := range t.sorted() {
			if x.deleted {
				continue
			}
			if i >= 200 {
				break
			}
			no := t.str(x, t.set.sortField)
			v.Links = append(v.Links, linkView{Href: s.WebClientRecordPath(card, no), Text: no + " " + t.str(x, "displayName") + t.str(x, "customerName")})
		}
		render(http.StatusOK, v)
		return
	}
	x := t.byNumber[number]
	if x == nil {
		x = t.rows[strings.ToLower(number)]
	}
	if x == nil || pg.set == "salesInvoices" && isPosted(t, x) != pg.posted && pageID != 43 {
		render(http.StatusNotFound, recordView{Title: pg.title, Page: strconv.Itoa(pageID), Message: "The " + t.set.entity + " " + number + " does not exist."})
		return
	}
	v := recordView{Title: pg.title, Page: strconv.Itoa(pageID), Number: t.str(x, t.set.sortField), ID: x.id,
		Name: t.str(x, "displayName") + t.str(x, "customerName"), Status: t.str(x, "status")}
	for i, f := range t.set.fields {
		val := t.val(x, i)
		if f.name == "lastModifiedDateTime" {
			val = formatMillis(x.mod)
		}
		var b bytes.Buffer
		appendJSONValue(&b, val)
		sv := strings.Trim(b.String(), `"`)
		if f.kind == kEnum {
			sv = decodeEnum(sv)
		}
		v.Fields = append(v.Fields, fieldView{Name: f.name, Value: sv})
	}
	if t.set.lines != "" {
		lt := c.tables[t.set.lines]
		for _, col := range lineColumns {
			if _, ok := lt.set.index[col]; ok {
				v.LineHeaders = append(v.LineHeaders, col)
			}
		}
		for _, l := range lt.lines(x.id) {
			var cells []string
			for _, col := range v.LineHeaders {
				var b bytes.Buffer
				appendJSONValue(&b, lt.val(l, lt.set.index[col]))
				cells = append(cells, decodeEnum(strings.Trim(b.String(), `"`)))
			}
			v.Lines = append(v.Lines, cells)
		}
	}
	render(http.StatusOK, v)
}
