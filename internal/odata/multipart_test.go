package odata

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// docBatch follows the request example of "Execute batch operations using the Web API"
// (CRLF line endings, quoted boundary, a change set with Content-IDs, a GET outside it).
const docBatch = "--batch_AAA123\r\n" +
	"Content-Type: multipart/mixed; boundary=changeset_BBB456\r\n" +
	"\r\n" +
	"--changeset_BBB456\r\n" +
	"Content-Type: application/http\r\n" +
	"Content-Transfer-Encoding:binary\r\n" +
	"Content-ID: 1\r\n" +
	"\r\n" +
	"POST https://org.crm.dynamics.com/api/data/v9.2/tasks HTTP/1.1\r\n" +
	"Content-Type: application/json; type=entry\r\n" +
	"\r\n" +
	"{\"subject\":\"Task 1 in batch\",\"regardingobjectid_account_task@odata.bind\":\"https://org.crm.dynamics.com/api/data/v9.2/accounts(00000000-0000-0000-000000000001)\"}\r\n" +
	"--changeset_BBB456\r\n" +
	"Content-Type: application/http\r\n" +
	"Content-Transfer-Encoding:binary\r\n" +
	"Content-ID: 2\r\n" +
	"\r\n" +
	"PATCH $1 HTTP/1.1\r\n" +
	"Content-Type: application/json; type=entry\r\n" +
	"\r\n" +
	"{\"subject\":\"renamed\"}\r\n" +
	"--changeset_BBB456--\r\n" +
	"\r\n" +
	"--batch_AAA123\r\n" +
	"Content-Type: application/http\r\n" +
	"Content-Transfer-Encoding:binary\r\n" +
	"\r\n" +
	"GET https://org.crm.dynamics.com/api/data/v9.2/accounts(00000000-0000-0000-000000000001)/Account_Tasks?$select=subject HTTP/1.1\r\n" +
	"Accept: application/json\r\n" +
	"\r\n" +
	"--batch_AAA123--\r\n"

func TestReadBatchRequest(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		body        string
		contentType string
		check       func(t *testing.T, reqs []BatchRequest)
		wantErr     string
	}{
		{
			name: "doc example", body: docBatch, contentType: `multipart/mixed; boundary="batch_AAA123"`,
			check: func(t *testing.T, reqs []BatchRequest) {
				require.Len(t, reqs, 3)
				require.Equal(t, "changeset_BBB456", reqs[0].ChangeSet)
				require.Equal(t, "1", reqs[0].ContentID)
				require.Equal(t, "POST", reqs[0].Method)
				require.Equal(t, "https://org.crm.dynamics.com"[:27], reqs[0].URL[:27])
				require.Equal(t, "application/json; type=entry", reqs[0].Header.Get("Content-Type"))
				require.True(t, strings.HasPrefix(string(reqs[0].Body), `{"subject":"Task 1 in batch"`))
				require.True(t, strings.HasSuffix(string(reqs[0].Body), `}`))
				require.Equal(t, "PATCH", reqs[1].Method)
				require.Equal(t, "$1", reqs[1].URL)
				require.Equal(t, "2", reqs[1].ContentID)
				require.Equal(t, "", reqs[2].ChangeSet)
				require.Equal(t, "GET", reqs[2].Method)
				require.Nil(t, reqs[2].Body)
				require.Equal(t, "application/json", reqs[2].Header.Get("Accept"))
			},
		},
		{
			name: "LF line endings and boundary from the first line (DynamicsWebApi style)",
			body: strings.ReplaceAll(strings.ReplaceAll(docBatch, "\r\n", "\n"), "batch_AAA123", "dwa_batch_1"), contentType: "multipart/mixed",
			check: func(t *testing.T, reqs []BatchRequest) {
				require.Len(t, reqs, 3)
				require.Equal(t, "1", reqs[0].ContentID)
				require.Equal(t, "GET", reqs[2].Method)
			},
		},
		{name: "not multipart", body: "{}", contentType: "application/json", wantErr: "not multipart/mixed"},
		{name: "no parts", body: "--b--\r\n", contentType: "multipart/mixed; boundary=b", wantErr: "no parts"},
		{
			name: "bad request line", contentType: "multipart/mixed; boundary=b",
			body: "--b\r\nContent-Type: application/http\r\n\r\nHELLO\r\n--b--\r\n", wantErr: "batch part 1",
		},
		{
			name: "nested change set", contentType: "multipart/mixed; boundary=b",
			body:    "--b\r\nContent-Type: multipart/mixed; boundary=c1\r\n\r\n--c1\r\nContent-Type: multipart/mixed; boundary=c2\r\n\r\n--c2--\r\n--c1--\r\n--b--\r\n",
			wantErr: "cannot nest",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			reqs, err := ReadBatchRequest(strings.NewReader(tt.body), tt.contentType)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			tt.check(t, reqs)
		})
	}
}

func TestBatchRoundTrip(t *testing.T) {
	t.Parallel()
	reqs := []BatchRequest{
		{Method: "GET", URL: "/api/data/v9.2/accounts?$top=1", Header: http.Header{"Accept": {"application/json"}}},
		{ChangeSet: "cs1", ContentID: "1", Method: "POST", URL: "/api/data/v9.2/accounts",
			Header: http.Header{"Content-Type": {"application/json; type=entry"}}, Body: []byte(`{"name":"A"}`)},
		{ChangeSet: "cs1", ContentID: "2", Method: "PATCH", URL: "$1", Header: http.Header{}, Body: []byte(`{"name":"B"}`)},
		{ChangeSet: "cs2", ContentID: "3", Method: "DELETE", URL: "/api/data/v9.2/accounts(1)"},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteBatchRequest(&buf, "batch_x", reqs))
	got, err := ReadBatchRequest(&buf, "multipart/mixed; boundary=batch_x")
	require.NoError(t, err)
	require.Len(t, got, 4)
	require.Equal(t, "cs1", got[1].ChangeSet)
	require.Equal(t, got[1].ChangeSet, got[2].ChangeSet)
	require.Equal(t, "cs2", got[3].ChangeSet)
	require.Equal(t, "$1", got[2].URL)
	require.Equal(t, `{"name":"B"}`, string(got[2].Body))
	require.Equal(t, "3", got[3].ContentID)

	resps := []BatchResponse{
		{ChangeSet: "changesetresponse_1", ContentID: "1", Status: 204,
			Header: http.Header{"OData-EntityId": {"http://h/api/data/v9.2/accounts(1)"}, "Location": {"http://h/api/data/v9.2/accounts(1)"}}},
		{Status: 400, Header: http.Header{"Content-Type": {"application/json; odata.metadata=minimal"}}, Body: []byte(`{"error":{"code":"0x80040217","message":"x"}}`)},
	}
	buf.Reset()
	require.NoError(t, WriteBatchResponse(&buf, "batchresponse_1", resps))
	require.True(t, strings.HasPrefix(buf.String(), "--batchresponse_1\r\n"), "DynamicsWebApi reads the boundary from the first line")
	require.Contains(t, buf.String(), "OData-EntityId: http://h/api/data/v9.2/accounts(1)\r\n", "header spelling kept")
	gotR, err := ReadBatchResponse(&buf, "multipart/mixed; boundary=batchresponse_1")
	require.NoError(t, err)
	require.Len(t, gotR, 2)
	require.Equal(t, 204, gotR[0].Status)
	require.Equal(t, "1", gotR[0].ContentID)
	require.Equal(t, "changesetresponse_1", gotR[0].ChangeSet)
	require.Equal(t, "http://h/api/data/v9.2/accounts(1)", gotR[0].Header.Get("OData-EntityId"))
	require.Equal(t, 400, gotR[1].Status)
	require.JSONEq(t, `{"error":{"code":"0x80040217","message":"x"}}`, string(gotR[1].Body))
}

func TestWriteBatchRejectsBadInput(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	require.ErrorContains(t, WriteBatchRequest(&buf, "bad boundary", nil), "boundary")
	require.ErrorContains(t, WriteBatchRequest(&buf, "b", []BatchRequest{{Method: "GET", URL: "/a b"}}), "space")
	require.ErrorContains(t, WriteBatchRequest(&buf, "b", []BatchRequest{{Method: "GET", URL: "/a", Header: http.Header{"X": {"a\r\nb"}}}}), "line break")
	require.ErrorContains(t, WriteBatchResponse(&buf, "b", []BatchResponse{{Status: 7}}), "status")
}

func TestReadBatchMalformedIsErrBatchFormat(t *testing.T) {
	t.Parallel()
	_, err := ReadBatchResponse(strings.NewReader("--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 abc\r\n--b--"), "multipart/mixed; boundary=b")
	require.True(t, errors.Is(err, ErrBatchFormat), "got %v", err)
}

// FuzzReadBatchRequest checks the reader never panics and that whatever it accepts survives
// a write/read round trip unchanged.
func FuzzReadBatchRequest(f *testing.F) {
	f.Add(docBatch, `multipart/mixed; boundary="batch_AAA123"`)
	f.Add(strings.ReplaceAll(docBatch, "\r\n", "\n"), "multipart/mixed")
	f.Add("--b\r\nContent-Type: application/http\r\n\r\nGET /x HTTP/1.1\r\n\r\n--b--", "multipart/mixed; boundary=b")
	f.Add("--b\nContent-Type: multipart/mixed; boundary=c\n\n--c\nContent-ID: 9\n\nDELETE $9 HTTP/1.1\n\n--c--\n--b--\n", "multipart/mixed; boundary=b")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		reqs, err := ReadBatchRequest(strings.NewReader(body), contentType)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if err := WriteBatchRequest(&buf, "batch_fuzz", reqs); err != nil {
			return // e.g. a change-set boundary that cannot be written back; a clear error is fine
		}
		again, err := ReadBatchRequest(&buf, "multipart/mixed; boundary=batch_fuzz")
		require.NoError(t, err)
		require.Len(t, again, len(reqs))
		for i := range reqs {
			require.Equal(t, reqs[i].Method, again[i].Method)
			require.Equal(t, reqs[i].URL, again[i].URL)
			require.Equal(t, reqs[i].ChangeSet, again[i].ChangeSet)
			require.Equal(t, string(bytes.TrimSpace(reqs[i].Body)), string(bytes.TrimSpace(again[i].Body)))
		}
	})
}

func FuzzReadBatchResponse(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteBatchResponse(&buf, "batchresponse_1", []BatchResponse{{ChangeSet: "changesetresponse_2", ContentID: "1", Status: 204}, {Status: 200, Body: []byte("{}")}})
	f.Add(buf.String(), "multipart/mixed; boundary=batchresponse_1")
	f.Add("--b\nContent-Type: application/http\n\nHTTP/1.1 404 Not Found\n\n{}\n--b--", "")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		resps, err := ReadBatchResponse(strings.NewReader(body), contentType)
		if err != nil {
			return
		}
		for _, r := range resps {
			require.GreaterOrEqual(t, r.Status, 100)
			require.NotNil(t, r.Header)
		}
	})
}

// FuzzParseBatchResponse holds the in-memory reader to ReadBatchResponse:
// the same answers for every body, or an error from both.
func FuzzParseBatchResponse(f *testing.F) {
	var buf bytes.Buffer
	_ = WriteBatchResponse(&buf, "batchresponse_1", []BatchResponse{
		{ChangeSet: "changesetresponse_2", ContentID: "1", Status: 204, Header: http.Header{"Odata-Entityid": {"x(1)"}}},
		{ChangeSet: "changesetresponse_2", ContentID: "2", Status: 201, Body: []byte(`{"a":1}`)},
		{Status: 200, Header: http.Header{"Content-Type": {"application/json"}, "Etag": {`W/"1"`}}, Body: []byte("{}")},
	})
	f.Add(buf.String(), "multipart/mixed; boundary=batchresponse_1")
	f.Add("--b\nContent-Type: application/http\n\nHTTP/1.1 404 Not Found\n\n{}\n--b--", "multipart/mixed; boundary=b")
	f.Add("--b\r\nContent-Type: application/http\r\nContent-ID: 7\r\n\r\nHTTP/1.1 204 No Content\r\nX-A:  v \r\nx-a: w\r\n\r\n\r\n--b--\r\n", "multipart/mixed; boundary=b")
	f.Add("--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 500 E\r\n\r\n{}\r\n--c--\r\n--b--", "multipart/mixed; boundary=b")
	f.Add("--b\r\ncontent-id: 1\r\nContent-ID: 2\r\nX:\r\n\r\nHTTP/1.1 200 OK\r\nA:\t v\t\r\nContent-ID: 3\r\n\r\n{}\r\n--b \r\n--b--", "multipart/mixed; boundary=b")
	f.Fuzz(func(t *testing.T, body, contentType string) {
		want, werr := ReadBatchResponse(strings.NewReader(body), contentType)
		got, gerr := ParseBatchResponse([]byte(body), contentType)
		if werr != nil || gerr != nil {
			require.Equal(t, werr != nil, gerr != nil, "errors: %v / %v", werr, gerr)
			return
		}
		require.Equal(t, want, got)
	})
}

// TestParseBatchResponse: what the simulator writes is read in place, and
// what the general reader accepts otherwise (LF line endings, a folded
// header) still reads the same.
func TestParseBatchResponse(t *testing.T) {
	t.Parallel()
	var sim bytes.Buffer
	require.NoError(t, WriteBatchResponse(&sim, "batchresponse_1", []BatchResponse{
		{ChangeSet: "changesetresponse_2", ContentID: "1", Status: 201, Header: http.Header{"Etag": {`W/"5"`}}, Body: []byte(`{"accountid":"a"}`)},
		{Status: 204, Header: http.Header{"Odata-Entityid": {"accounts(b)"}}},
	}))
	for _, tt := range []struct {
		name, body string
		fast       bool
	}{
		{"simulator", sim.String(), true},
		{"LF endings", strings.ReplaceAll(sim.String(), "\r\n", "\n"), false},
		{"folded header", strings.Replace(sim.String(), "Etag: W/\"5\"", "Etag: W/\"5\"\r\n x", 1), false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, ok := fastBatchResponse([]byte(tt.body), "batchresponse_1")
			require.Equal(t, tt.fast, ok)
			want, err := ReadBatchResponse(strings.NewReader(tt.body), "multipart/mixed; boundary=batchresponse_1")
			require.NoError(t, err)
			got, err := ParseBatchResponse([]byte(tt.body), "multipart/mixed; boundary=batchresponse_1")
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.Len(t, got, 2)
			require.Equal(t, "changesetresponse_2", got[0].ChangeSet)
			require.Equal(t, `{"accountid":"a"}`, string(got[0].Body))
			require.Nil(t, got[1].Body)
		})
	}
}

// BenchmarkParseBatchResponse reads the answer to a $batch of 1,000
// creates that asked for their key and modifiedon, as the simulator
// writes it: in place (fast) and through mime/multipart (general).
func BenchmarkParseBatchResponse(b *testing.B) {
	resps := make([]BatchResponse, 1000)
	for i := range resps {
		resps[i] = BatchResponse{Status: 201, Header: http.Header{
			"Content-Type":       {"application/json; odata.metadata=minimal"},
			"Odata-Version":      {"4.0"},
			"Etag":               {`W/"1234567"`},
			"Preference-Applied": {"return=representation"},
		}, Body: []byte(`{"@odata.etag":"W/\"1234567\"","accountid":"0e9011f1-d395-5a6b-911f-d9e32ee19569","modifiedon":"2026-12-06T21:26:16Z"}`)}
	}
	var buf bytes.Buffer
	require.NoError(b, WriteBatchResponse(&buf, "batchresponse_1", resps))
	body, ct := buf.Bytes(), "multipart/mixed; boundary=batchresponse_1"
	for _, tt := range []struct {
		name string
		read func() ([]BatchResponse, error)
	}{
		{"fast", func() ([]BatchResponse, error) { return ParseBatchResponse(body, ct) }},
		{"general", func() ([]BatchResponse, error) { return ReadBatchResponse(bytes.NewReader(body), ct) }},
	} {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if out, err := tt.read(); err != nil || len(out) != len(resps) {
					b.Fatal(len(out), err)
				}
			}
		})
	}
}

// A part whose body holds the batch's or its change set's delimiter
// cannot be written: it would end the part early.
func TestWriteBatchRefusesABodyHoldingItsBoundary(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct{ name, cs, body string }{
		{"batch boundary", "", "a\r\n--batch_1\r\nb"},
		{"change set boundary", "changeset_2", "--changeset_2--"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := WriteBatchRequest(&bytes.Buffer{}, "batch_1", []BatchRequest{{ChangeSet: tt.cs, Method: "POST", URL: "accounts", Body: []byte(tt.body)}})
			require.ErrorContains(t, err, "batch request 1: its body holds the boundary")
			err = WriteBatchResponse(&bytes.Buffer{}, "batch_1", []BatchResponse{{ChangeSet: tt.cs, Status: 200, Body: []byte(tt.body)}})
			require.ErrorContains(t, err, "batch response 1: its body holds the boundary")
		})
	}
}
