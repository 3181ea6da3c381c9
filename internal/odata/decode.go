package odata

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
	"unsafe"

	"github.com/tidwall/gjson"
)

// Decoder turns the JSON objects of OData answers into maps as
// encoding/json does with UseNumber (strings, json.Number, bools, nil,
// nested maps and slices), in two passes over the bytes instead of four
// and without reflection: reading a page of 5,000 accounts was a tenth of
// a full synchronisation's CPU. The keys of a page's records repeat; a
// Decoder hands out one copy of each. Not safe for concurrent use.
type Decoder struct {
	keys map[string]string
}

// NewDecoder returns a Decoder with an empty key table.
func NewDecoder() *Decoder { return &Decoder{keys: map[string]string{}} }

// errNotObject is wrapped when valid JSON is not an object.
var errNotObject = errors.New("not a JSON object")

// Object decodes one JSON object. The result shares no memory with b.
func (d *Decoder) Object(b []byte) (map[string]any, error) {
	r, err := d.parse(b)
	if err != nil {
		return nil, err
	}
	if !r.IsObject() {
		return nil, fmt.Errorf("%w (it starts with %q)", errNotObject, firstByte(b))
	}
	return d.object(r), nil
}

// Page is the parts of a collection answer that readers use.
type Page struct {
	Value     []gjson.Result // the elements of "value", undecoded
	HasValue  bool           // the answer has a "value" array
	NextLink  string
	DeltaLink string
	Count     int // -1 when absent
}

// Page splits a collection answer ({"value": [...], "@odata.nextLink": …}).
// The elements are decoded one by one with Element, so that a caller can
// look at an element before decoding it (a deleted-entity marker) and
// name the one that fails. The elements refer to b: keep b unchanged
// until they are decoded.
func (d *Decoder) Page(b []byte) (Page, error) {
	p := Page{Count: -1}
	r, err := d.parse(b)
	if err != nil {
		return p, err
	}
	if !r.IsObject() {
		return p, fmt.Errorf("%w (it starts with %q)", errNotObject, firstByte(b))
	}
	var perr error
	r.ForEach(func(k, v gjson.Result) bool {
		switch k.String() {
		case "value":
			if !v.IsArray() {
				perr = errors.New(`"value" is not an array`)
				return false
			}
			p.Value, p.HasValue = append(p.Value, v.Array()...), true
		case "@odata.nextLink":
			p.NextLink, perr = d.str(v, "@odata.nextLink")
		case "@odata.deltaLink":
			p.DeltaLink, perr = d.str(v, "@odata.deltaLink")
		case "@odata.count":
			if v.Type != gjson.Number || v.Raw != fmt.Sprint(v.Int()) {
				perr = fmt.Errorf("@odata.count %s is not an integer", v.Raw)
			} else {
				p.Count = int(v.Int())
			}
		}
		return perr == nil
	})
	return p, perr
}

// Element decodes one element of Page.Value, which must be an object.
func (d *Decoder) Element(v gjson.Result) (map[string]any, error) {
	if !v.IsObject() {
		return nil, fmt.Errorf("%w: %.40s", errNotObject, v.Raw)
	}
	return d.object(v), nil
}

// parse checks b (gjson's validator accepts what encoding/json's does,
// FuzzDecoderObject checks it, at twice the speed) and reads it without
// copying. Invalid JSON, and JSON with invalid
// UTF-8 (which encoding/json decodes with replacement characters), are
// handed to encoding/json for its error or its reading.
func (d *Decoder) parse(b []byte) (gjson.Result, error) {
	if !gjson.ValidBytes(b) {
		var v any
		err := json.Unmarshal(b, &v) // for its message: what and where
		if err == nil {
			err = errors.New("invalid JSON")
		}
		return gjson.Result{}, fmt.Errorf("invalid JSON: %w", err)
	}
	if !utf8.Valid(b) {
		// encoding/json reads invalid UTF-8 in strings as replacement
		// characters: read it so, and read its valid re-encoding.
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil {
			return gjson.Result{}, fmt.Errorf("invalid JSON: %w", err)
		}
		clean, err := json.Marshal(v)
		if err != nil {
			return gjson.Result{}, fmt.Errorf("re-encode the answer read with replacement characters: %w", err)
		}
		b = clean
	}
	return gjson.Parse(unsafe.String(unsafe.SliceData(b), len(b))), nil
}

func (d *Decoder) object(r gjson.Result) map[string]any {
	m := make(map[string]any, 16)
	r.ForEach(func(k, v gjson.Result) bool {
		m[d.key(k)] = d.value(v)
		return true
	})
	return m
}

func (d *Decoder) value(v gjson.Result) any {
	switch v.Type {
	case gjson.String:
		s, _ := d.str(v, "")
		return s
	case gjson.Number:
		return json.Number(strings.Clone(v.Raw))
	case gjson.True:
		return true
	case gjson.False:
		return false
	case gjson.Null:
		return nil
	}
	if v.IsObject() {
		return d.object(v)
	}
	out := []any{}
	v.ForEach(func(_, e gjson.Result) bool {
		out = append(out, d.value(e))
		return true
	})
	return out
}

// key is the map key for k, one copy per distinct key.
func (d *Decoder) key(k gjson.Result) string {
	if strings.IndexByte(k.Raw, '\\') >= 0 {
		s, _ := d.str(k, "")
		return s
	}
	if s, ok := d.keys[k.Str]; ok {
		return s
	}
	s := strings.Clone(k.Str)
	if len(d.keys) < 4096 {
		d.keys[s] = s
	}
	return s
}

// str is the value of a JSON string, copied out of the answer's bytes.
// Escaped strings are unescaped by encoding/json, whose reading of
// unpaired surrogates the result keeps.
func (d *Decoder) str(v gjson.Result, name string) (string, error) {
	if v.Type != gjson.String {
		return "", fmt.Errorf("%s is %s, not a string", name, v.Raw)
	}
	if strings.IndexByte(v.Raw, '\\') < 0 {
		return strings.Clone(v.Str), nil
	}
	var s string
	if err := json.Unmarshal([]byte(v.Raw), &s); err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	return s, nil
}

func firstByte(b []byte) string {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return ""
	}
	return string(b[:1])
}

// NextLink is the @odata.nextLink of a collection answer, "" when it has
// none or is not an object, found without decoding the records: a reader
// asks for the next page before it decodes this one. The answer is not
// validated (Page does that).
func NextLink(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	link := ""
	gjson.Parse(unsafe.String(unsafe.SliceData(b), len(b))).ForEach(func(k, v gjson.Result) bool {
		if k.Str == "@odata.nextLink" && v.Type == gjson.String && strings.IndexByte(v.Raw, '\\') < 0 {
			link = strings.Clone(v.Str)
			return false
		}
		return true
	})
	return link
}
