package dataverse

import (
	"bytes"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/coupler/coupler/internal/odata"
)

// batchParts are a $batch of n account creates as the engine sends them.
func batchParts(n int) []odata.BatchRequest {
	payload := []byte(`{"accountnumber":"C00010","address1_city":"Cambridge","address1_line1":"Station Road 21","address1_postalcode":"CB1 2JD","creditlimit":1500,"customertypecode":3,"emailaddress1":"accounts@adatum.example","name":"Adatum Corporation","telephone1":"+44 1223 555 010","transactioncurrencyid@odata.bind":"/transactioncurrencies(6c1f0b1e-5d7a-4a3e-9b1f-0c2d3e4f5a6b)"}`)
	parts := make([]odata.BatchRequest, n)
	for i := range parts {
		h := http.Header{"Prefer": {"return=representation"}, "Content-Type": {"application/json; type=entry"},
			"Content-Length": {strconv.Itoa(len(payload))}}
		parts[i] = odata.BatchRequest{Method: http.MethodPatch, Header: h, Body: payload,
			URL: "https://org.crm.dynamics.com/api/data/v9.2/accounts(0f8fad5b-d9cb-469f-a165-70867728" + strconv.Itoa(1000+i%9000) + ")?$select=accountid,modifiedon"}
	}
	return parts
}

func TestBatchBodyIsWhatWriteBatchRequestWrites(t *testing.T) {
	t.Parallel()
	parts := batchParts(3)
	var want bytes.Buffer
	if err := odata.WriteBatchRequest(&want, "batch_1", parts); err != nil {
		t.Fatal(err)
	}
	got, err := batchBody("batch_1", parts)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		t.Fatalf("batchBody wrote\n%s\nwant\n%s", got, want.Bytes())
	}
	if _, err := batchBody("batch_1", []odata.BatchRequest{{Method: "PATCH", URL: "accounts(1) x"}}); err == nil || !strings.Contains(err.Error(), "space") {
		t.Fatalf("a URL with a space: err = %v", err)
	}
}

// BenchmarkBatchBody is the body of one $batch of 1,000 creates, sized up
// front (batchBody) and grown as written (the buffer's default).
func BenchmarkBatchBody(b *testing.B) {
	parts := batchParts(1000)
	b.Run("sized", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := batchBody("batch_1", parts); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("grown", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var body bytes.Buffer
			if err := odata.WriteBatchRequest(&body, "batch_1", parts); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// TestBatchSizeCoversTheBody: the buffer is sized once, with little to
// spare, for the long boundaries the client draws.
func TestBatchSizeCoversTheBody(t *testing.T) {
	t.Parallel()
	boundary := "batch_" + randomHex()
	for _, n := range []int{1, 10, 1000} {
		parts := batchParts(n)
		if n == 10 {
			for i := range parts {
				parts[i].ChangeSet, parts[i].ContentID = "changeset_"+randomHex(), strconv.Itoa(i+1)
			}
		}
		var want bytes.Buffer
		if err := odata.WriteBatchRequest(&want, boundary, parts); err != nil {
			t.Fatal(err)
		}
		size := batchSize(boundary, parts)
		if size < want.Len() || size > want.Len()*5/4 {
			t.Errorf("%d parts: batchSize %d for a body of %d bytes", n, size, want.Len())
		}
	}
}
