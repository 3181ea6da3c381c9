package syncer

import "testing"

func TestIntentSubject(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		in   Intent
		want string
	}{
		{"a chunk's creates", createsIntent("CUSTOMER", [][2]string{{"e1", "c1"}, {"e2", "c2"}, {"e3", "c3"}}),
			"ToCRM creates of 3 ERP record(s), e1 to e3"},
		{"one create", Intent{Direction: "FromCRM", Op: "create", SourceID: "c9"}, "FromCRM create of c9"},
		{"creates with a payload that is not pairs", Intent{Direction: "ToCRM", Op: opCreates, SourceID: "e1", Payload: "{"},
			"ToCRM creates of e1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := intentSubject(tt.in); got != tt.want {
				t.Errorf("intentSubject = %q, want %q", got, tt.want)
			}
		})
	}
}
