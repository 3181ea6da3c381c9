package bc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
)

// skipToken is the opaque $skiptoken: the primary key of the last row sent (default order)
// or an offset (with $orderby).
type skipToken struct {
	Doc    string `json:"d,omitempty"`
	Key    any    `json:"k,omitempty"`
	Offset int    `json:"o,omitempty"`
}

func encodeSkip(st skipToken) string {
	b, _ := json.Marshal(st)
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeSkip(s string, t *table) (skipToken, *apiError) {
	var st skipToken
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		err = dec.Decode(&st)
	}
	if err != nil {
		return st, badQuery("The $skiptoken '%s' is not valid; follow @odata.nextLink as given.", s)
	}
	if n, ok := st.Key.(json.Number); ok {
		switch t.set.fields[t.sortPos].kind {
		case kInt32, kInt64:
			v, _ := n.Int64()
			st.Key = v
		default:
			v, _ := n.Float64()
			st.Key = v
		}
	}
	return st, nil
}

func nextLink(r *http.Request, token string) string {
	q := r.URL.Query()
	q.Del("$skiptoken")
	q.Del("$skip")
	q.Set("$skiptoken", token)
	// keep "$" and parentheses literal, as BC's links show them
	path := strings.NewReplacer("%28", "(", "%29", ")", "%24", "$").Replace(r.URL.EscapedPath())
	query := strings.ReplaceAll(q.Encode(), "%24", "$")
	return "http://" + r.Host + path + "?" + query
}

// Pages are large (a 20,000-record page is megabytes); reusing their buffers spares the
// allocation and clearing of that memory on every request.
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func getBuffer() *bytes.Buffer {
	b := bufferPool.Get().(*bytes.Buffer)
	b.Reset()
	return b
}

func putBuffer(b *bytes.Buffer) {
	if b.Cap() <= 64<<20 {
		bufferPool.Put(b)
	}
}
