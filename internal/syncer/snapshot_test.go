package syncer

import (
	"encoding/json"
	"testing"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/odata"
)

// erpSnapshot must write what the map it replaces wrote: snapshots of
// earlier runs are compared with it byte for byte and field by field.
func TestERPSnapshotIsTheMapsJSON(t *testing.T) {
	t.Parallel()
	recs := map[string]map[string]any{
		"empty": {},
		"every kind of value": {
			"displayName": "Adatum \"Corp\" <b>&", "number": "10000", "creditLimit": json.Number("1500.5"),
			"blocked": false, "email": nil, "addressLine1": "Station Road 21 é", "unmapped": "x",
		},
		"a list and an object": {"displayName": []any{"a", json.Number("1")}, "number": map[string]any{"z": 1.5, "a": true}},
	}
	for _, m := range mapping.Defaults() {
		keys := snapshotKeys(&m)
		for name, rec := range recs {
			want, err := odata.Marshal(erpValues(&m, rec))
			if err != nil {
				t.Fatalf("%s, %s: odata.Marshal: %v", m.Name, name, err)
			}
			if got := erpSnapshot(keys, rec); got != string(want) {
				t.Errorf("%s, %s:\n got %s\nwant %s", m.Name, name, got, want)
			}
		}
	}
}

func TestERPSnapshotRefusesWhatJSONCannotHold(t *testing.T) {
	t.Parallel()
	m, _ := mapping.Default(mapping.Customer)
	if got := erpSnapshot(snapshotKeys(&m), map[string]any{"displayName": make(chan int)}); got != "" {
		t.Fatalf("erpSnapshot wrote a channel: %s", got)
	}
}

func TestAppendKeyIsAppendValue(t *testing.T) {
	t.Parallel()
	for _, k := range []string{"", "displayName", "address1_line1", `a"b`, `a\b`, "x<y>&z", "é", "tab\there", "\x7f"} {
		want, err := odata.AppendValue(nil, k)
		if err != nil {
			t.Fatalf("%q: AppendValue: %v", k, err)
		}
		got, err := appendKey(nil, k)
		if err != nil || string(got) != string(want) {
			t.Errorf("%q: got %s (%v), want %s", k, got, err, want)
		}
	}
}

// BenchmarkERPSnapshot is the snapshot of one customer with every default
// field mapping, written for each create of a full run.
func BenchmarkERPSnapshot(b *testing.B) {
	m, _ := mapping.Default(mapping.Customer)
	keys := snapshotKeys(&m)
	rec := map[string]any{
		"displayName": "Wells Group 1", "number": "S0000001", "addressLine1": "85 High Street", "addressLine2": "",
		"city": "Bristol", "state": "", "country": "GB", "postalCode": "BS1 4DJ", "phoneNumber": "", "email": "contact1@example.com",
		"website": "", "creditLimit": json.Number("24000"), "currencyCode": "GBP", "paymentTermsId": "f253f607-5ef3-5068-899d-4be9d31d0f25",
		"shipmentMethodId": "00000000-0000-0000-0000-000000000000", "salespersonCode": "JO",
	}
	b.ReportAllocs()
	for b.Loop() {
		if erpSnapshot(keys, rec) == "" {
			b.Fatal("no snapshot")
		}
	}
}
