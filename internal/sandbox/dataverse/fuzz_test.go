package dataverse

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"testing"

	"github.com/coupler/coupler/internal/sandbox/identity"
)

// FuzzOperation drives the router with arbitrary paths, queries and bodies: every input
// must end in an answer (usually an error in Dataverse's shape), never a panic.
func FuzzOperation(f *testing.F) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv, err := New(Options{Identity: identity.New(identity.Options{Logger: log}), Seed: "demo", Logger: log})
	if err != nil {
		f.Fatal(err)
	}
	seeds := [][4]string{
		{"GET", "accounts", "$select=name&$filter=startswith(name,'A')&$orderby=name desc&$top=2", ""},
		{"GET", "accounts(accountnumber='A1',name='x''y')", "", ""},
		{"PATCH", "accounts(00000000-0000-0000-0000-000000000001)", "", `{"name":"x","primarycontactid@odata.bind":"/contacts(1)"}`},
		{"POST", "salesorders", "", `{"customerid_account@odata.bind":"accounts(00000000-0000-0000-0000-000000000001)","statecode":1}`},
		{"GET", "systemusers(00000000-0000-0000-0000-000000000001)/systemuserroles_association", "$select=name", ""},
		{"POST", "EntityDefinitions(LogicalName='account')/Attributes", "", `{"AttributeType":"Picklist","SchemaName":"new_x","OptionSet":{"Options":[{"Value":1}]}}`},
		{"GET", "contacts", "$expand=parentcustomerid_account($select=name)&$count=true", ""},
		{"DELETE", "accounts(", "", ""},
		{"GET", "accounts", "$skiptoken=%3Ccookie%20pagenumber%3D%222%22%20istracking%3D%22False%22%20pos%3D%22o%3A9%22", ""},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1], s[2], s[3])
	}
	f.Fuzz(func(t *testing.T, method, path, query, body string) {
		switch method {
		case "GET", "POST", "PATCH", "PUT", "DELETE":
		default:
			method = "GET"
		}
		op := &opRequest{ctx: context.Background(), method: method, path: path, query: query, header: http.Header{},
			body: []byte(body), caller: caller{token: srv.ids.appUser, user: srv.ids.appUser, apiURL: "http://h/api/data/v9.2/"}}
		func() {
			defer func() {
				if p := recover(); p != nil {
					t.Fatalf("%s %s?%s %q panicked: %v", method, path, query, body, p)
				}
			}()
			res, err := srv.route(op)
			if err == nil && (res.status < 200 || res.status > 599) {
				t.Fatalf("status %d", res.status)
			}
		}()
	})
}
