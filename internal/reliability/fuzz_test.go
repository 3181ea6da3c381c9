package reliability

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/coupler/coupler/internal/odata"
	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/sandbox/faults"
	"github.com/coupler/coupler/internal/setup"
)

// The fuzz targets below cover the parsers that had none: the ERP, token
// endpoint and web client URLs of the setup, the APIs' error bodies, the
// sandbox's fault spec and listen address. CI runs their seeds as plain
// tests; scripts/fuzz-nightly runs them for a bounded time each.

var urlSeeds = []string{
	"https://api.businesscentral.dynamics.com/v2.0/3f5c1a2e-7b9d-4e61-8c0f-2a4b6d8e0c17/production/api/v2.0",
	"http://127.0.0.1:8080/BC/api/v2.0", " HTTPS://Contoso.crm4.dynamics.com/main.aspx?appid=1 ",
	"https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
	"javascript:alert(1)", "file:///etc/passwd", "https://user:pw@host/", "https://[::1]:99999/",
	"https://%zz/", "//host/path", "", "\x00", "https://host/" + strings.Repeat("a/", 500),
	"https://xn--80ak6aa92e.com/", "https://host:0/v2.0/t/e/api/v2.0",
}

// FuzzSetupURLs feeds the setup's URL checks: they never panic, a refusal
// is a *setup.FieldError naming the field, and an accepted value is
// accepted again unchanged (normalising is idempotent).
func FuzzSetupURLs(f *testing.F) {
	for _, s := range urlSeeds {
		f.Add(s, false)
		f.Add(s, true)
	}
	checks := []struct {
		field string
		fn    func(string, string, bool) (string, error)
	}{
		{"erp_url", setup.NormalizeERPURL},
		{"token_url", setup.ValidateTokenURL},
		{"web_client_url", setup.ValidateWebClientURL},
		{"crm_url", setup.NormalizeCRMURL},
	}
	f.Fuzz(func(t *testing.T, raw string, insecure bool) {
		count(&tally.badInputs, 1)
		for _, c := range checks {
			v, err := c.fn(c.field, raw, insecure)
			if err != nil {
				var fe *setup.FieldError
				if !errors.As(err, &fe) {
					t.Fatalf("%s(%q): error %T %v is not a FieldError", c.field, raw, err, err)
				}
				if !strings.Contains(err.Error(), c.field) && fe.Field != c.field {
					t.Fatalf("%s(%q): %q does not name the field", c.field, raw, err)
				}
				continue
			}
			again, err := c.fn(c.field, v, insecure)
			if err != nil {
				t.Fatalf("%s: %q accepted as %q, which is then refused: %v", c.field, raw, v, err)
			}
			if c.field != "web_client_url" && again != v {
				t.Fatalf("%s: not idempotent: %q → %q → %q", c.field, raw, v, again)
			}
		}
		_ = setup.DefaultWebClientURL(raw)
	})
}

// FuzzDecodeError: an API's error body of any shape decodes without panic
// into an error that keeps the status and says something.
func FuzzDecodeError(f *testing.F) {
	for _, s := range []string{
		`{"error":{"code":"0x80040217","message":"account With Id = 1 Does Not Exist"}}`,
		`{"error":{"code":"BadRequest_NotFound","message":"x"}}`, `<html>502 Bad Gateway</html>`, ``, `{`, `{"error":null}`,
		`{"error":{"code":1,"message":[]}}`, `{"Message":"An error has occurred."}`, "\xff\xfe", `{"error":{"innererror":{"message":"deep"}}}`,
	} {
		f.Add(502, []byte(s))
		f.Add(400, []byte(s))
	}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		count(&tally.badInputs, 1)
		e := odata.DecodeError(status, body)
		if e == nil {
			t.Fatalf("DecodeError(%d, %q) = nil", status, body)
		}
		if e.Status != status {
			t.Fatalf("status %d became %d", status, e.Status)
		}
		if strings.TrimSpace(e.Error()) == "" {
			t.Fatalf("DecodeError(%d, %q): empty message", status, body)
		}
	})
}

// FuzzSandboxOptions: the fault spec and listen address parsers never
// panic, and a refusal says what to write instead.
func FuzzSandboxOptions(f *testing.F) {
	for _, s := range []string{"5xx=0.1,429=0.2,slow=0.05,slow-delay=2s,drop=0.01,seed=42", "", "5xx=2", "429=-1", "seed=x", "slow-delay=-1s",
		"5xx=0.1,5xx=0.2", "=", ",,,", "drop=NaN", "5xx=1e309", "retry-after=9999999h"} {
		f.Add(s, "127.0.0.1:0")
	}
	f.Add("", "0.0.0.0:80")
	f.Add("", "[::1]:0")
	f.Add("", "localhost")
	f.Fuzz(func(t *testing.T, spec, addr string) {
		count(&tally.badInputs, 1)
		if s, err := faults.Parse(spec); err == nil {
			for _, r := range []float64{s.ServerError, s.Throttle, s.Slow, s.Drop} {
				if r < 0 || r > 1 || r != r {
					t.Fatalf("faults.Parse(%q) accepted rate %v", spec, r)
				}
			}
		} else if !utf8.ValidString(spec) || !strings.Contains(err.Error(), "faults") {
			if utf8.ValidString(spec) {
				t.Fatalf("faults.Parse(%q): message %q does not say which option", spec, err)
			}
		}
		_ = sandbox.CheckLoopback(addr)
	})
}
