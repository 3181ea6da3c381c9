package bc

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestWebClient(t *testing.T) {
	t.Parallel()
	e := setup(t)
	name := url.QueryEscape(e.srv.Credentials().CompanyName)
	base := e.hs.URL + e.srv.WebClientPath()
	tests := []struct {
		name, url string
		status    int
		contains  []string
	}{
		{"customer by filter", e.hs.URL + e.srv.WebClientRecordPath(21, "10000"), 200, []string{"Customer Card", `data-number="10000"`, "Adatum Corporation", `data-field="email">robert.townes@contoso.com`}},
		{"item by bookmark", base + "?company=" + name + "&page=30&bookmark=" + url.QueryEscape(Bookmark(27, "1896-S")), 200, []string{"Item Card", "ATHENS Desk", `data-field="inventory">500`}},
		{"order with lines", base + "?company=" + name + "&page=42&filter=" + url.QueryEscape("'No.' IS '101002'"), 200, []string{"Sales Order", `id="lines"`, "MEXICO Swivel Chair, black", "AMSTERDAM Lamp"}},
		{"by system id", base + "?company=" + name + "&page=21&bookmark=" + seedID("customers", "40000"), 200, []string{"Alpine Ski House"}},
		{"list", base + "?company=" + name + "&page=22", 200, []string{"Customers", "Relecloud", "page=21"}},
		{"missing record", base + "?company=" + name + "&page=21&filter=" + url.QueryEscape("'No.' IS '99999'"), 404, []string{"does not exist"}},
		{"unknown page", base + "?company=" + name + "&page=9999", 404, []string{"not part of the sandbox"}},
		{"unknown company", base + "?company=Nope&page=21", 404, []string{"Nope"}},
		{"escaping", base + "?company=" + name + "&page=21&filter=" + url.QueryEscape("'No.' IS '<script>'"), 404, []string{"&lt;script&gt;"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			r := rawGet(t, tc.url, func(*http.Request) {})
			require.Equal(t, tc.status, r.status, string(r.body))
			require.True(t, strings.HasPrefix(r.header.Get("Content-Type"), "text/html"))
			for _, c := range tc.contains {
				require.Contains(t, string(r.body), c)
			}
			require.NotContains(t, string(r.body), "<script>")
		})
	}
	n, ok := decodeBookmark(Bookmark(18, "C00010"))
	require.True(t, ok)
	require.Equal(t, "C00010", n)
}
