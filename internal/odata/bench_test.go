package odata

import (
	"fmt"
	"testing"
	"time"
)

// BenchmarkMatch measures $filter evaluation over typical records, the
// inner loop of every simulator read.
func BenchmarkMatch(b *testing.B) {
	records := make([]Record, 1000)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range records {
		records[i] = Record{
			"accountid": fmt.Sprintf("00000000-0000-0000-0000-%012d", i), "name": fmt.Sprintf("Customer %05d Ltd", i),
			"accountnumber": fmt.Sprint(10000 + i), "statecode": i % 2, "revenue": float64(i) * 10.5,
			"modifiedon": t0.Add(time.Duration(i) * time.Minute), "_parentaccountid_value": nil,
		}
	}
	cases := []struct {
		name, filter string
		ignoreCase   bool
	}{
		{"eq-string", "accountnumber eq '10500'", false},
		{"eq-string-ignorecase", "name eq 'customer 00500 ltd'", true},
		{"contains-ignorecase", "contains(name,'00500')", true},
		{"and-or-null", "statecode eq 0 and (revenue gt 5000 or _parentaccountid_value ne null)", false},
		{"datetime-cursor", "modifiedon gt 2024-01-01T08:00:00Z", false},
		{"in-list", "accountnumber in ('10001','10002','10500','10999')", false},
	}
	for _, c := range cases {
		f, err := ParseFilter(c.filter)
		if err != nil {
			b.Fatal(err)
		}
		f.IgnoreCase = c.ignoreCase
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if _, err := f.Match(records[i%len(records)]); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}

// BenchmarkParseFilter measures a first parse (godata's tokenizer and our
// compile) and a repeated one (served from the cache, as when paging).
func BenchmarkParseFilter(b *testing.B) {
	const expr = "statecode eq 0 and (contains(name,'x') or _parentaccountid_value eq null) and modifiedon gt 2024-01-01T08:00:00Z"
	b.Run("first", func(b *testing.B) {
		b.ReportAllocs()
		i := 0
		for b.Loop() {
			if _, err := ParseFilter(fmt.Sprintf("%s and n ne %d", expr, i)); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
	b.Run("repeated", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := ParseFilter(expr); err != nil {
				b.Fatal(err)
			}
		}
	})
}
