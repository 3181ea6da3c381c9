package availability

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/odata"
	"github.com/coupler/coupler/internal/store"
)

// EntitySet is the seed's web service name.
const EntitySet = "ProductItemAvailability"

var properties = []string{"ItemNo", "UOM", "Inventory", "QtyOnSalesOrders", "AvailableQty"}

// Options configure the web service.
type Options struct {
	// ERP returns the ERP client of the enabled connection (dialled per
	// refresh so that a changed setup is picked up), or an error when the
	// connection is disabled.
	ERP    func(ctx context.Context) (*bc.Client, error)
	Store  store.Store
	Logger *slog.Logger
	// MaxAge is how old the figures may be (default 30 s).
	MaxAge time.Duration
	// FreeFailures is how many failed sign-ins from one address are
	// answered at once within FailureWindow; each further one waits longer
	// (default 5 within 15 minutes).
	FreeFailures  int
	FailureWindow time.Duration
	Now           func() time.Time
}

// Service is the item availability OData v4 service.
type Service struct {
	o     Options
	log   *slog.Logger
	cache *reader
	guard *guard

	touchMu sync.Mutex
	touched map[int64]time.Time // last "last used" write per key
}

// touch records a key's use at most once a minute, so that a busy CRM does
// not turn every read into a database write.
func (s *Service) touch(ctx context.Context, id int64) {
	now := s.o.Now()
	s.touchMu.Lock()
	if now.Sub(s.touched[id]) < time.Minute {
		s.touchMu.Unlock()
		return
	}
	s.touched[id] = now
	s.touchMu.Unlock()
	if err := s.o.Store.TouchServiceKey(context.WithoutCancel(ctx), id, now); err != nil {
		s.log.Warn("item availability: record key use", "key", id, "err", err)
	}
}

// New checks the options.
func New(o Options) (*Service, error) {
	if o.ERP == nil || o.Store == nil || o.Logger == nil {
		return nil, errors.New("availability: ERP, store and logger are required")
	}
	if o.MaxAge <= 0 {
		o.MaxAge = 30 * time.Second
	}
	if o.FreeFailures <= 0 {
		o.FreeFailures = 5
	}
	if o.FailureWindow <= 0 {
		o.FailureWindow = 15 * time.Minute
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Service{o: o, log: o.Logger, cache: &reader{maxAge: o.MaxAge, now: o.Now},
		guard: newGuard(o.FreeFailures, o.FailureWindow, o.Now), touched: map[int64]time.Time{}}, nil
}

// Handler serves OData v4 under /odata/v4/ (mount it at that prefix,
// unstripped): the service document, $metadata and the entity set.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /odata/v4/{$}", s.serviceDocument)
	mux.HandleFunc("GET /odata/v4/$metadata", s.metadata)
	mux.HandleFunc("GET /odata/v4/"+EntitySet, s.list)
	mux.HandleFunc("GET /odata/v4/{entity}", s.entity)
	mux.HandleFunc("/odata/v4/", func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET")
			odata.WriteError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "The item availability service is read-only: only GET is allowed.")
			return
		}
		odata.WriteError(w, http.StatusNotFound, "NotFound", "No resource at "+r.URL.Path+"; the entity set is "+EntitySet+".")
	})
	return s.authenticate(mux)
}

func base(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + "/odata/v4/"
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8")
	w.Header().Set("OData-Version", "4.0")
	_ = json.NewEncoder(w).Encode(v)
}

func (s *Service) serviceDocument(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, map[string]any{"@odata.context": base(r) + "$metadata",
		"value": []map[string]string{{"name": EntitySet, "kind": "EntitySet", "url": EntitySet}}})
}

const metadataXML = `<?xml version="1.0" encoding="utf-8"?>
<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">
  <edmx:DataServices>
    <Schema Namespace="Coupler.Availability" xmlns="http://docs.oasis-open.org/odata/ns/edm">
      <EntityType Name="ProductItemAvailability">
        <Key><PropertyRef Name="ItemNo"/></Key>
        <Property Name="ItemNo" Type="Edm.String" Nullable="false" MaxLength="20"/>
        <Property Name="UOM" Type="Edm.String" MaxLength="10"/>
        <Property Name="Inventory" Type="Edm.Decimal" Scale="Variable"/>
        <Property Name="QtyOnSalesOrders" Type="Edm.Decimal" Scale="Variable"/>
        <Property Name="AvailableQty" Type="Edm.Decimal" Scale="Variable"/>
      </EntityType>
      <EntityContainer Name="Default">
        <EntitySet Name="ProductItemAvailability" EntityType="Coupler.Availability.ProductItemAvailability"/>
      </EntityContainer>
    </Schema>
  </edmx:DataServices>
</edmx:Edmx>
`

func (s *Service) metadata(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("OData-Version", "4.0")
	_, _ = w.Write([]byte(metadataXML))
}

func record(row Row) odata.Record {
	return odata.Record{"ItemNo": row.ItemNo, "UOM": row.UOM, "Inventory": row.Inventory,
		"QtyOnSalesOrders": row.QtyOnSalesOrders, "AvailableQty": row.AvailableQty}
}

func (s *Service) rows(w http.ResponseWriter, r *http.Request) ([]Row, bool) {
	erp, err := s.o.ERP(r.Context())
	if err != nil {
		odata.WriteError(w, http.StatusServiceUnavailable, "ServiceUnavailable", "Item availability is not available: "+err.Error())
		return nil, false
	}
	s.cache.mu.Lock()
	s.cache.erp = erp
	s.cache.mu.Unlock()
	snap, err := s.cache.get(r.Context())
	if err != nil {
		s.log.Error("item availability: ERP read failed", "err", err)
		odata.WriteError(w, http.StatusBadGateway, "BadGateway", "The ERP did not answer: "+err.Error())
		return nil, false
	}
	return snap.rows, true
}

func (s *Service) list(w http.ResponseWriter, r *http.Request) {
	q, err := odata.ParseQuery(r.URL.Query())
	if err != nil {
		odata.WriteError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	for _, p := range q.Select {
		if !slices.Contains(properties, p) {
			odata.WriteError(w, http.StatusBadRequest, "BadRequest", "$select: unknown property "+p+"; the properties are "+strings.Join(properties, ", ")+".")
			return
		}
	}
	if q.Filter != nil {
		for _, p := range q.Filter.Properties() {
			if !slices.Contains(properties, p) {
				odata.WriteError(w, http.StatusBadRequest, "BadRequest", "$filter: unknown property "+p+"; the properties are "+strings.Join(properties, ", ")+".")
				return
			}
		}
	}
	if len(q.Expand) > 0 {
		odata.WriteError(w, http.StatusBadRequest, "BadRequest", "$expand: "+EntitySet+" has no navigation properties.")
		return
	}
	rows, ok := s.rows(w, r)
	if !ok {
		return
	}
	out := []odata.Record{}
	for _, row := range rows {
		rec := record(row)
		if q.Filter != nil {
			m, err := q.Filter.Match(rec)
			if err != nil {
				odata.WriteError(w, http.StatusBadRequest, "BadRequest", "$filter: "+err.Error())
				return
			}
			if !m {
				continue
			}
		}
		out = append(out, rec)
	}
	odata.SortRecords(out, q.OrderBy)
	body := map[string]any{"@odata.context": base(r) + "$metadata#" + EntitySet + selectSuffix(q.Select)}
	if q.Count {
		body["@odata.count"] = len(out) // before $skip/$top, as OData defines it
	}
	if q.Skip > 0 {
		out = out[min(q.Skip, len(out)):]
	}
	if q.Top >= 0 && q.Top < len(out) {
		out = out[:q.Top]
	}
	for i := range out {
		out[i] = odata.SelectFields(out[i], q.Select)
	}
	body["value"] = out
	writeJSON(w, body)
}

func selectSuffix(sel []string) string {
	if len(sel) == 0 {
		return ""
	}
	return "(" + strings.Join(sel, ",") + ")"
}

// entity serves ProductItemAvailability('1996-S') (and ItemNo='1996-S').
func (s *Service) entity(w http.ResponseWriter, r *http.Request) {
	seg := r.PathValue("entity")
	key, ok := strings.CutPrefix(seg, EntitySet+"(")
	if !ok || !strings.HasSuffix(key, ")") {
		odata.WriteError(w, http.StatusNotFound, "NotFound", "No resource "+seg+"; the entity set is "+EntitySet+".")
		return
	}
	key = strings.TrimSuffix(key, ")")
	key = strings.TrimPrefix(key, "ItemNo=")
	if len(key) < 2 || key[0] != '\'' || key[len(key)-1] != '\'' {
		odata.WriteError(w, http.StatusBadRequest, "BadRequest", "The key of "+EntitySet+" is the item number as a string, e.g. "+EntitySet+"('1996-S').")
		return
	}
	no := strings.ReplaceAll(key[1:len(key)-1], "''", "'")
	if u, err := url.PathUnescape(no); err == nil {
		no = u
	}
	rows, ok := s.rows(w, r)
	if !ok {
		return
	}
	q, err := odata.ParseQuery(r.URL.Query())
	if err != nil {
		odata.WriteError(w, http.StatusBadRequest, "BadRequest", err.Error())
		return
	}
	for _, row := range rows {
		if row.ItemNo == no {
			rec := odata.SelectFields(record(row), q.Select)
			rec["@odata.context"] = base(r) + "$metadata#" + EntitySet + "/$entity"
			writeJSON(w, rec)
			return
		}
	}
	odata.WriteError(w, http.StatusNotFound, "NotFound", "No item "+no+" in the ERP.")
}

// clientIP is the connection's address; X-Forwarded-For is not trusted.
func clientIP(r *http.Request) string {
	h, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return h
}

func (s *Service) authenticate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip := clientIP(r)
		user, key, ok := r.BasicAuth()
		if ok {
			k, good, err := checkKey(r.Context(), s.o.Store, user, key)
			if err != nil {
				s.log.Error("item availability: key check failed", "err", err)
				odata.WriteError(w, http.StatusInternalServerError, "InternalError", "The key could not be checked; see coupler's log.")
				return
			}
			if good {
				s.guard.success(ip)
				s.touch(r.Context(), k.ID)
				next.ServeHTTP(w, r)
				return
			}
		}
		delay, n := s.guard.failure(ip)
		s.log.Warn("item availability: sign-in refused", "remote", ip, "user", user, "basic_auth", ok, "failures", n, "delay", delay)
		if delay > 0 {
			select {
			case <-time.After(delay):
			case <-r.Context().Done():
				return
			}
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="coupler item availability", charset="UTF-8"`)
		odata.WriteError(w, http.StatusUnauthorized, "Unauthorized", "Sign in with the ERP user name and a web service access key issued by `coupler keys create`.")
	})
}
