package odata_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/odata"
)

// reference is what the Decoder must agree with: encoding/json with
// UseNumber, the whole input one object.
func reference(b []byte) (map[string]any, bool) {
	if !json.Valid(b) {
		return nil, false
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, false
	}
	m, ok := v.(map[string]any)
	return m, ok
}

func TestDecoderObject(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
		want     map[string]any
		err      string
	}{
		{"scalars", `{"name":"Adatum","creditlimit":1000.50,"n":-3,"e":1e3,"on":true,"off":false,"gone":null}`,
			map[string]any{"name": "Adatum", "creditlimit": json.Number("1000.50"), "n": json.Number("-3"), "e": json.Number("1e3"), "on": true, "off": false, "gone": nil}, ""},
		{"nested", `{"a":{"b":[1,"x",{"c":null}],"d":{}},"e":[]}`,
			map[string]any{"a": map[string]any{"b": []any{json.Number("1"), "x", map[string]any{"c": nil}}, "d": map[string]any{}}, "e": []any{}}, ""},
		{"escapes", `{"q\"k":"a\"b\\c\/d\n\u00e9\ud83d\ude00","lone":"\ud800x"}`,
			map[string]any{`q"k`: "a\"b\\c/d\né😀", "lone": "\ufffdx"}, ""},
		{"annotations", `{"@odata.etag":"W/\"1\"","_parentcustomerid_value@OData.Community.Display.V1.FormattedValue":"Contoso"}`,
			map[string]any{"@odata.etag": `W/"1"`, "_parentcustomerid_value@OData.Community.Display.V1.FormattedValue": "Contoso"}, ""},
		{"duplicate key: the last wins", `{"a":1,"a":2}`, map[string]any{"a": json.Number("2")}, ""},
		{"invalid UTF-8 is replaced as encoding/json does", "{\"a\":\"x\xffy\"}", map[string]any{"a": "x\ufffdy"}, ""},
		{"whitespace", " \n{ \"a\" : [ 1 , 2 ] }\t", map[string]any{"a": []any{json.Number("1"), json.Number("2")}}, ""},
		{"array", `[1]`, nil, "not a JSON object"},
		{"truncated", `{"a":`, nil, "invalid JSON"},
		{"empty", ``, nil, "invalid JSON"},
		{"trailing", `{"a":1} x`, nil, "invalid JSON"},
		{"control character", "{\"a\":\"x\x01\"}", nil, "invalid JSON"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			got, err := odata.NewDecoder().Object([]byte(tc.in))
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}

func TestDecoderPage(t *testing.T) {
	t.Parallel()
	d := odata.NewDecoder()
	in := []byte(`{"@odata.context":"x","@odata.count":2,"value":[{"accountid":"a1","name":"A"},{"accountid":"a2","name":"B"}],"@odata.nextLink":"https://h/api/data/v9.2/accounts?$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E"}`)
	p, err := d.Page(in)
	require.NoError(t, err)
	require.Equal(t, 2, p.Count)
	require.Equal(t, `https://h/api/data/v9.2/accounts?$skiptoken=%3Ccookie%20pagenumber=%222%22%20/%3E`, p.NextLink)
	require.Len(t, p.Value, 2)
	var got []map[string]any
	for _, v := range p.Value {
		m, err := d.Element(v)
		require.NoError(t, err)
		got = append(got, m)
	}
	// The maps own their memory: the answer's bytes can be reused.
	clear(in)
	require.Equal(t, []map[string]any{{"accountid": "a1", "name": "A"}, {"accountid": "a2", "name": "B"}}, got)

	for _, tc := range []struct{ in, err string }{
		{`{"value":{}}`, `"value" is not an array`},
		{`{"value":[],"@odata.count":1.5}`, "@odata.count 1.5 is not an integer"},
		{`{"value":[],"@odata.nextLink":3}`, "@odata.nextLink is 3, not a string"},
		{`[]`, "not a JSON object"},
		{`{"value":[`, "invalid JSON"},
	} {
		_, err := d.Page([]byte(tc.in))
		require.ErrorContains(t, err, tc.err, tc.in)
	}
	p, err = d.Page([]byte(`{"value":[3]}`))
	require.NoError(t, err)
	_, err = d.Element(p.Value[0])
	require.ErrorContains(t, err, "not a JSON object: 3")
	p, err = d.Page([]byte(`{"value":[]}`))
	require.NoError(t, err)
	require.Equal(t, -1, p.Count, "absent count")
}

// FuzzDecoderObject: on any input the Decoder agrees with encoding/json.
func FuzzDecoderObject(f *testing.F) {
	for _, s := range []string{`{}`, `{"a":"b"}`, `{"a":[1,{"b":null}],"c":1.5e-3}`, `{"a":"\u00e9\ud800"}`, "{\"a\":\"\xff\"}", `{"a":1}x`, `[{}]`, `{"a":01}`, `{"a":-0}`, `{"\u0061":true}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		want, ok := reference(b)
		got, err := odata.NewDecoder().Object(b)
		if !ok {
			if err == nil {
				t.Fatalf("%q: encoding/json refuses it, the Decoder read %v", b, got)
			}
			return
		}
		if err != nil {
			t.Fatalf("%q: encoding/json reads it, the Decoder says %v", b, err)
		}
		if fmt.Sprintf("%#v", want) != fmt.Sprintf("%#v", got) {
			t.Fatalf("%q:\n encoding/json %#v\n Decoder       %#v", b, want, got)
		}
	})
}

// BenchmarkDecodePage compares the Decoder with encoding/json on a page of
// 5,000 accounts as the CRM sends them.
func BenchmarkDecodePage(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"@odata.context":"https://h/api/data/v9.2/$metadata#accounts","value":[`)
	for i := range 5000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"@odata.etag":"W/\"%d\"","accountid":"6f9619ff-8b86-d011-b42d-%012d","name":"Adams Trading %d","accountnumber":"C%07d",`+
			`"address1_line1":"12 High Street","address1_line2":null,"address1_city":"London","address1_stateorprovince":null,"address1_postalcode":"EC1A 1BB",`+
			`"address1_country":"GB","telephone1":"+44 20 7946 0000","emailaddress1":"contact%d@example.com","websiteurl":null,"creditlimit":1000.0,`+
			`"customertypecode":3,"statecode":0,"modifiedon":"2026-12-01T10:00:00Z","_modifiedby_value":"6f9619ff-8b86-d011-b42d-00c04fc964ff"}`, i, i, i, i, i)
	}
	sb.WriteString(`],"@odata.nextLink":"https://h/api/data/v9.2/accounts?$skiptoken=x"}`)
	body := []byte(sb.String())
	b.Run("Decoder", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			d := odata.NewDecoder()
			p, err := d.Page(body)
			if err != nil {
				b.Fatal(err)
			}
			for _, v := range p.Value {
				if _, err := d.Element(v); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			var raw struct {
				Value []json.RawMessage `json:"value"`
			}
			if err := json.Unmarshal(body, &raw); err != nil {
				b.Fatal(err)
			}
			for _, v := range raw.Value {
				dec := json.NewDecoder(bytes.NewReader(v))
				dec.UseNumber()
				var m map[string]any
				if err := dec.Decode(&m); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}

func TestMarshal(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		in   map[string]any
	}{
		{"scalars", map[string]any{"name": "Adatum <&> \"Q\"", "n": json.Number("-1.5e3"), "on": true, "off": false, "gone": nil, "f": 0.1, "i": 42}},
		{"escapes", map[string]any{"a\nb": "tab\there\u2028\u2029\x01é😀", "bad": "x\xffy", "\xfe": "k"}},
		{"nested", map[string]any{"o": map[string]any{"z": []any{json.Number("1"), "x"}, "a": map[string]any{}}, "s": []string{"a"}}},
		{"odd numbers", map[string]any{"empty": json.Number(""), "neg": json.Number("-0")}},
		{"empty", map[string]any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			want, err := json.Marshal(tc.in)
			require.NoError(t, err)
			got, err := odata.Marshal(tc.in)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
		})
	}
	for _, bad := range []json.Number{" 1", "1 ", "01", "x", "1.", "-"} {
		_, want := json.Marshal(map[string]any{"n": bad})
		_, err := odata.Marshal(map[string]any{"n": bad})
		require.Error(t, want, bad)
		require.ErrorContains(t, err, "field n", bad)
	}
	got, err := odata.Marshal(nil)
	require.NoError(t, err)
	require.Equal(t, "null", string(got))
}

// FuzzMarshal: what the Decoder reads, Marshal writes as encoding/json does.
func FuzzMarshal(f *testing.F) {
	for _, s := range []string{`{"a":"<b>&","c":[1,{"d":null}],"e":1.50}`, "{\"a\":\"\\u2028\\u0001\"}", `{"z":1,"a":2}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := odata.NewDecoder().Object(b)
		if err != nil {
			return
		}
		want, werr := json.Marshal(m)
		got, err := odata.Marshal(m)
		require.Equal(t, werr == nil, err == nil, "%q: %v / %v", b, werr, err)
		require.Equal(t, string(want), string(got), "%q", b)
	})
}

// BenchmarkMarshal is one account payload as the engine sends it.
func BenchmarkMarshal(b *testing.B) {
	m := map[string]any{"name": "Adams Trading 1", "accountnumber": "C0000001", "address1_line1": "12 High Street", "address1_line2": "",
		"address1_city": "London", "address1_stateorprovince": "", "address1_postalcode": "EC1A 1BB", "address1_country": "GB",
		"telephone1": "+44 20 7946 0000", "emailaddress1": "contact1@example.com", "websiteurl": "", "creditlimit": json.Number("1000"),
		"customertypecode": json.Number("3"), "ownerid@odata.bind": "/systemusers(6f9619ff-8b86-d011-b42d-00c04fc964ff)",
		"transactioncurrencyid@odata.bind": "/transactioncurrencies(6f9619ff-8b86-d011-b42d-00c04fc964fe)"}
	b.Run("Marshal", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := odata.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("encoding/json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
