package dataverse

import (
	"bytes"
	"fmt"
	"net/http"
	"os"
	"runtime"
	"strconv"
	"sync"
	"testing"

	"github.com/coupler/coupler/internal/odata"
	"github.com/google/uuid"
)

// benchScale is the number of synthetic accounts (and contacts and products) the read
// benchmarks run over: COUPLER_BENCH_SCALE, default 1,000,000.
func benchScale() int {
	if n, err := strconv.Atoi(os.Getenv("COUPLER_BENCH_SCALE")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

var (
	benchOnce sync.Once
	benchEnv  *env
)

func benchSetup(b *testing.B) *env {
	benchOnce.Do(func() {
		var before runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		benchEnv = setup(b, setupOpts{scale: benchScale()})
		runtime.GC()
		var after runtime.MemStats
		runtime.ReadMemStats(&after)
		fmt.Fprintf(os.Stderr, "dataverse bench: %d synthetic accounts+contacts+products, heap in use %.0f MB\n",
			benchScale(), float64(after.HeapInuse)/(1<<20))
	})
	return benchEnv
}

// byIDs is the filter of a read by n ids, as coupler's Get sends it.
func byIDs(n int) string {
	var f bytes.Buffer
	for i := range n {
		if i > 0 {
			f.WriteString(" or ")
		}
		f.WriteString("accountid eq " + syntheticAccountID(benchScale()/(n+1)*(i+1)))
	}
	return f.String()
}

// BenchmarkReads measures paged reads over the synthetic accounts.
func BenchmarkReads(b *testing.B) {
	e := benchSetup(b)
	mid := fmt.Sprintf("%07d", benchScale()/2)
	cases := []struct {
		name, query string
		pageSize    int
	}{
		{"page5000", "accounts?$select=name,accountnumber,emailaddress1,address1_city,modifiedon", 5000},
		{"indexed-eq", "accounts?$select=name,accountnumber&$filter=accountnumber eq 'SYN" + mid + "'", 5000},
		{"by-50-ids", "accounts?$select=name&$filter=" + byIDs(50), 5000},
		{"lookup-eq", "contacts?$select=fullname&$filter=_parentcustomerid_value eq " + syntheticAccountID(benchScale()/2), 5000},
		{"scan-filter-page100", "accounts?$select=name&$filter=address1_city eq 'Leeds' and creditlimit ge 20000", 100},
		{"modifiedon-cursor-page1000", "accounts?$select=name&$filter=modifiedon ge 2000-01-01T00:00:00Z&$orderby=modifiedon asc", 1000},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			rows := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				r := e.do(b, "GET", c.query, nil, "Prefer: odata.maxpagesize="+strconv.Itoa(c.pageSize))
				if r.status != 200 {
					b.Fatalf("%d %s", r.status, r.body)
				}
				rows += bytes.Count(r.body, []byte(`"@odata.etag"`)) // decoding would cost more than serving
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(rows)/b.Elapsed().Seconds(), "rows/s")
		})
	}
}

func syntheticAccountID(i int) string {
	return uuidSHA1("account:" + fmt.Sprintf("%07d", i))
}

// BenchmarkBatchWrites measures $batch upserts of 1,000 accounts per request (outside and
// inside a change set).
func BenchmarkBatchWrites(b *testing.B) {
	e := setup(b, setupOpts{seed: "none"})
	for _, cs := range []string{"", "changeset_bench"} {
		name := "no-changeset"
		if cs != "" {
			name = "changeset"
		}
		b.Run(name, func(b *testing.B) {
			n := 0
			for i := 0; i < b.N; i++ {
				reqs := make([]odata.BatchRequest, 1000)
				for j := range reqs {
					body := fmt.Sprintf(`{"name":"Bench %d-%d","accountnumber":"B%d-%d","emailaddress1":"b%d@example.com","creditlimit":%d}`, i, j, i, j, j, j)
					reqs[j] = odata.BatchRequest{ChangeSet: cs, ContentID: strconv.Itoa(j + 1), Method: "POST", URL: "accounts",
						Header: http.Header{"Content-Type": {"application/json; type=entry"}}, Body: []byte(body)}
				}
				var buf bytes.Buffer
				if err := odata.WriteBatchRequest(&buf, "batch_bench", reqs); err != nil {
					b.Fatal(err)
				}
				r := e.do(b, "POST", "$batch", buf.Bytes(), "Content-Type: multipart/mixed; boundary=batch_bench")
				if r.status != 200 {
					b.Fatalf("%d %s", r.status, r.body)
				}
				n += len(reqs)
			}
			b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "records/s")
		})
	}
}

// uuidSHA1 is the id seedScale gives a synthetic record.
func uuidSHA1(name string) string {
	return uuid.NewSHA1(uuid.MustParse("0f0a4c1e-7a53-4d6b-9a1c-5a0e2b9f3d71"), []byte(name)).String()
}
