package crmside

import "testing"

func TestRepresentation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, body    string
		wantID, wantM string
	}{
		{"both", `{"@odata.context":"x","@odata.etag":"W/\"1\"","accountid":"0F8FAD5B-D9CB-469F-A165-70867728950E","modifiedon":"2026-12-06T19:00:00Z"}`,
			"0F8FAD5B-D9CB-469F-A165-70867728950E", "2026-12-06T19:00:00Z"},
		{"escaped key text", `{"account\u0069d":"a","modifiedon":"m"}`, "a", "m"},
		{"not strings", `{"accountid":1,"modifiedon":null}`, "", ""},
		{"another key", `{"contactid":"c","modifiedon":"m"}`, "", "m"},
		{"nested only", `{"x":{"accountid":"a"}}`, "", ""},
		{"empty", ``, "", ""},
		{"not JSON", `{"accountid":"a",`, "", ""},
		{"an array", `[{"accountid":"a"}]`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			id, m := representation([]byte(tt.body), "accountid")
			if id != tt.wantID || m != tt.wantM {
				t.Errorf("representation(%s) = %q, %q; want %q, %q", tt.body, id, m, tt.wantID, tt.wantM)
			}
		})
	}
}
