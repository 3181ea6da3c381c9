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
