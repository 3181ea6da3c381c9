package bc

import (
	"testing"
)

func FuzzSplitPath(f *testing.F) {
	for _, s := range []string{"customers", "companies(abc)/customers(1)/x", "salesOrders(id=1)/salesOrderLines('2')", "a(", "(", ")(", "//", "x()"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := splitPath(s)
		if err == nil && len(segs) == 0 {
			t.Fatalf("no segments and no error for %q", s)
		}
	})
}

func FuzzDecodeBody(f *testing.F) {
	sets, _, err := buildSchema()
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{`{"displayName":"x"}`, `{"creditLimit":1e400}`, `{"sequence":99999999999}`, `{"id":"not-a-guid"}`, `{"blocked":"All"}`, `[]`, `null`, `{"salesOrderLines":[{"quantity":1}]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, name := range []string{"customers", "salesOrders", "salesOrderLines", "items"} {
			set := sets[name]
			vals, _, aerr := decodeBody(set, []byte(s), set.lines)
			if aerr != nil {
				if aerr.status < 400 || aerr.code == "" {
					t.Fatalf("bad error %+v", aerr)
				}
				continue
			}
			for i, v := range vals {
				if i < 0 || i >= len(set.fields) || v == nil {
					t.Fatalf("bad value at %d: %v", i, v)
				}
			}
		}
	})
}

func FuzzBookmark(f *testing.F) {
	f.Add("21;EgAAAAJ7BTEAMAAwADAAMA==")
	f.Add("x;")
	f.Add(Bookmark(27, "1896-S"))
	f.Fuzz(func(t *testing.T, s string) {
		_, _ = decodeBookmark(s)
	})
}
