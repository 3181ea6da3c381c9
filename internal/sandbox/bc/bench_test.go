package bc

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coupler/coupler/internal/odata"
	"github.com/coupler/coupler/internal/sandbox/identity"
)

// cpuTime is the process's user+system CPU time: on a shared machine records per CPU-second
// (client and server together) is steadier than records per wall-clock second.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type benchEnv struct {
	srv   *Server
	hs    *httptest.Server
	token string
	comp  string
	root  string
}

func benchSetup(b *testing.B, scale int) *benchEnv {
	b.Helper()
	iss := identity.New(identity.Options{})
	srv, err := New(Options{Identity: iss, Seed: "demo", Scale: scale})
	if err != nil {
		b.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	b.Cleanup(hs.Close)
	ts := httptest.NewServer(iss.Handler())
	b.Cleanup(ts.Close)
	cr := srv.Credentials()
	res, err := http.PostForm(ts.URL+"/"+cr.Tenant+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {cr.ClientID}, "client_secret": {cr.ClientSecret}, "scope": {cr.Scope}})
	if err != nil {
		b.Fatal(err)
	}
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	_ = json.NewDecoder(res.Body).Decode(&tok)
	res.Body.Close()
	root := hs.URL + srv.APIRootPath()
	return &benchEnv{srv: srv, hs: hs, token: tok.AccessToken, root: root, comp: root + "/companies(" + cr.CompanyID + ")"}
}

func (e *benchEnv) send(b *testing.B, method, u, body string, hdr ...string) []byte {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, _ := http.NewRequest(method, u, rd)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	if res.StatusCode >= 300 {
		b.Fatalf("%s %s: %d %s", method, u, res.StatusCode, out)
	}
	return out
}

// BenchmarkReadPages pages through 100,000 customers, 5,000 per page, over HTTP.
func BenchmarkReadPages(b *testing.B) { benchReadPages(b, "/customers") }

// BenchmarkReadPagesOrdered pages the 100,000 customers by
// lastModifiedDateTime, as coupler's ERP side reads them.
func BenchmarkReadPagesOrdered(b *testing.B) {
	benchReadPages(b, "/customers?$orderby=lastModifiedDateTime&$select=id,number,displayName,lastModifiedDateTime")
}

// benchReadPages follows the pages of 5,000 of a read of 100,000 customers.
func benchReadPages(b *testing.B, path string) {
	e := benchSetup(b, 100_000)
	records := 0
	start, cpu := time.Now(), cpuTime()
	for b.Loop() {
		next := e.comp + path
		for next != "" {
			body := e.send(b, "GET", next, "", "Prefer", "odata.maxpagesize=5000")
			var page struct {
				Value []json.RawMessage `json:"value"`
				Next  string            `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(body, &page); err != nil {
				b.Fatal(err)
			}
			records += len(page.Value)
			next = page.Next
		}
	}
	b.ReportMetric(float64(records)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(records)/(cpuTime()-cpu).Seconds(), "records/cpu-s")
}

// BenchmarkIncrementalRead reads the customers changed since a cursor (none) over 100,000.
func BenchmarkIncrementalRead(b *testing.B) {
	e := benchSetup(b, 100_000)
	u := e.comp + "/customers?$filter=" + url.QueryEscape("lastModifiedDateTime gt "+time.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	for b.Loop() {
		e.send(b, "GET", u, "")
	}
}

func benchmarkBatchWrites(b *testing.B, atomic bool) {
	e := benchSetup(b, 0)
	cid := e.srv.Credentials().CompanyID
	n := 0
	start, cpu := time.Now(), cpuTime()
	for b.Loop() {
		items := make([]odata.JSONBatchItem, 100)
		for i := range items {
			n++
			items[i] = odata.JSONBatchItem{ID: fmt.Sprint(i), Method: "POST", URL: "companies(" + cid + ")/customers",
				Body: json.RawMessage(fmt.Sprintf(`{"displayName":"Bench %d","email":"b%d@example.com","city":"London"}`, n, n))}
		}
		body, _ := json.Marshal(odata.JSONBatchRequest{Requests: items})
		var hdr []string
		if atomic {
			hdr = []string{"Isolation", "snapshot"}
		}
		out := e.send(b, "POST", e.root+"/$batch", string(body), hdr...)
		if !strings.Contains(string(out), `"status":201`) {
			b.Fatalf("batch failed: %.300s", out)
		}
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(n)/(cpuTime()-cpu).Seconds(), "records/cpu-s")
}

// BenchmarkBatchWrites creates customers in JSON $batches of 100.
func BenchmarkBatchWrites(b *testing.B)       { benchmarkBatchWrites(b, false) }
func BenchmarkBatchWritesAtomic(b *testing.B) { benchmarkBatchWrites(b, true) }

// BenchmarkMillionCustomers measures the memory of Scale=1,000,000 (1M customers, 1M
// contacts, 100k items with their ledger entries).
func BenchmarkMillionCustomers(b *testing.B) {
	for b.Loop() {
		runtime.GC()
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		cpu := cpuTime()
		s, err := New(Options{Identity: identity.New(identity.Options{}), Seed: "demo", Scale: 1_000_000})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric((cpuTime() - cpu).Seconds(), "seed-cpu-s")
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/(1<<20), "heapMB")
		runtime.KeepAlive(s)
	}
}

type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) WriteHeader(int)             {}
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }

// BenchmarkListInProcess measures the server alone: one page of 5,000 customers rendered
// by the handler without a network or a client decoding it.
func BenchmarkListInProcess(b *testing.B) {
	e := benchSetup(b, 20_000)
	req := httptest.NewRequest("GET", e.comp+"/customers", nil)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Prefer", "odata.maxpagesize=5000")
	h := e.srv.Handler()
	start, cpu := time.Now(), cpuTime()
	n := 0
	for b.Loop() {
		h.ServeHTTP(&discard{h: http.Header{}}, req)
		n += 5000
	}
	b.ReportMetric(float64(n)/time.Since(start).Seconds(), "records/s")
	b.ReportMetric(float64(n)/(cpuTime()-cpu).Seconds(), "records/cpu-s")
}
