// Package crmside is the CRM (Dataverse Web API) side of the engine.
package crmside

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/tidwall/gjson"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/syncer"
)

// MaxBatch is Dataverse's limit of requests per $batch.
const MaxBatch = 1000

// Side reads and writes Dataverse rows for the engine.
type Side struct {
	c        *dataverse.Client
	pageSize int
}

// New returns the CRM side over a Dataverse client. pageSize 0 = 5,000.
func New(c *dataverse.Client, pageSize int) *Side { return &Side{c: c, pageSize: pageSize} }

var _ syncer.Side = (*Side)(nil)

func (s *Side) Name() string  { return "crm" }
func (s *Side) MaxBatch() int { return MaxBatch }

// Self is the integration user's systemuserid (WhoAmI).
func (s *Side) Self(ctx context.Context) (string, error) {
	w, err := s.c.WhoAmI(ctx)
	if err != nil {
		return "", err
	}
	return strings.ToLower(w.UserID), nil
}

// timeLiteral is how Dataverse filters read a DateTimeOffset.
func timeLiteral(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

func and(parts ...string) string {
	var keep []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			keep = append(keep, "("+p+")")
		}
	}
	if len(keep) == 1 {
		return strings.TrimSuffix(strings.TrimPrefix(keep[0], "("), ")")
	}
	return strings.Join(keep, " and ")
}

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func literal(v string) string {
	if guidRE.MatchString(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

// Read pages through rows ordered by modification time.
func (s *Side) Read(ctx context.Context, q syncer.ReadQuery, fn func([]syncer.Record) error) error {
	var conds []string
	if !q.Since.IsZero() {
		// modifiedon has second precision in filters: ge keeps the boundary.
		conds = append(conds, fmt.Sprintf("%s ge %s", q.Modified, timeLiteral(q.Since.Truncate(time.Second))))
	}
	for _, k := range sortedKeys(q.Equal) {
		conds = append(conds, fmt.Sprintf("%s eq %s", k, literal(q.Equal[k])))
	}
	if guidRE.MatchString(q.SkipModifiedBy) {
		conds = append(conds, "_modifiedby_value ne "+q.SkipModifiedBy)
	}
	conds = append(conds, q.Filter)
	dq := dataverse.Query{Filter: and(conds...), OrderBy: q.Modified + " asc," + q.Key + " asc", PageSize: s.pageSize, Select: selectList(q)}
	return s.c.List(ctx, q.Entity, dq, func(p dataverse.Page) error {
		recs, err := s.convert(q.Entity, q.Key, q.Modified, p.Records)
		if err != nil {
			return err
		}
		return fn(recs)
	})
}

// modifiedBy is the column naming a row's last modifier.
const modifiedBy = "_modifiedby_value"

// selectList is the $select of a read: nil (every column) unless the
// query names fields, to which the key, the modification field and the
// last modifier (echo suppression, see convert) are added.
func selectList(q syncer.ReadQuery) []string {
	if len(q.Select) == 0 {
		return nil
	}
	out := []string{q.Key}
	if q.Modified != "" {
		out = append(out, q.Modified)
	}
	out = append(out, modifiedBy)
	for _, f := range q.Select {
		if f != "" && !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func (s *Side) convert(entity, key, modified string, rows []dataverse.Record) ([]syncer.Record, error) {
	out := make([]syncer.Record, 0, len(rows))
	for i, r := range rows {
		id, _ := r[key].(string)
		if id == "" {
			return nil, fmt.Errorf("%s row %d has no %s", entity, i+1, key)
		}
		rec := syncer.Record{ID: strings.ToLower(id), ETag: r.ETag(), Fields: map[string]any(r)}
		if m := modified; m != "" {
			if v, _ := r[m].(string); v != "" {
				t, err := time.Parse(time.RFC3339Nano, v)
				if err != nil {
					return nil, fmt.Errorf("%s %s: %s %q is not a time: %w", entity, id, m, v, err)
				}
				rec.ModifiedAt = t
			}
		}
		rec.ModifiedBy, _ = r[modifiedBy].(string)
		rec.ModifiedBy = strings.ToLower(rec.ModifiedBy)
		out = append(out, rec)
	}
	return out, nil
}

// Get reads rows by primary key, 50 per request.
func (s *Side) Get(ctx context.Context, entity, key string, ids []string) ([]syncer.Record, error) {
	var out []syncer.Record
	for i := 0; i < len(ids); i += 50 {
		var ors []string
		for _, id := range ids[i:min(i+50, len(ids))] {
			ors = append(ors, fmt.Sprintf("%s eq %s", key, literal(id)))
		}
		recs, err := s.Find(ctx, entity, key, strings.Join(ors, " or "))
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// Find reads the rows matching a filter.
func (s *Side) Find(ctx context.Context, entity, key, filter string) ([]syncer.Record, error) {
	var out []syncer.Record
	err := s.c.List(ctx, entity, dataverse.Query{Filter: filter, PageSize: s.pageSize}, func(p dataverse.Page) error {
		recs, err := s.convert(entity, key, "modifiedon", p.Records)
		out = append(out, recs...)
		return err
	})
	return out, err
}

// Write sends the ops as $batch requests of at most 1,000, continuing on
// error so one bad row fails alone. A create with an id is an upsert
// (PATCH set(id)): replaying it cannot make a second row.
func (s *Side) Write(ctx context.Context, entity, key string, ops []syncer.Op) ([]syncer.Result, error) {
	out := make([]syncer.Result, 0, len(ops))
	for start := 0; start < len(ops); start += MaxBatch {
		part := ops[start:min(start+MaxBatch, len(ops))]
		reqs := make([]dataverse.BatchRequest, len(part))
		// The representation returned is cut to the two columns the engine
		// keeps: whole rows cost the service and the client dearly.
		sel := "?$select=" + key + ",modifiedon"
		for i, op := range part {
			h := http.Header{"Prefer": {"return=representation"}}
			switch op.Kind {
			case syncer.OpCreate:
				if op.ID == "" {
					reqs[i] = dataverse.BatchRequest{Method: http.MethodPost, Path: entity + sel, Body: op.Payload, Header: h}
				} else {
					reqs[i] = dataverse.BatchRequest{Method: http.MethodPatch, Path: entity + "(" + op.ID + ")" + sel, Body: op.Payload, Header: h}
				}
			case syncer.OpUpdate:
				etag := op.IfMatch
				if etag == "" {
					etag = "*"
				}
				h.Set("If-Match", etag)
				reqs[i] = dataverse.BatchRequest{Method: http.MethodPatch, Path: entity + "(" + op.ID + ")" + sel, Body: op.Payload, Header: h}
			case syncer.OpDelete:
				reqs[i] = dataverse.BatchRequest{Method: http.MethodDelete, Path: entity + "(" + op.ID + ")"}
			}
		}
		res, err := s.c.Batch(ctx, reqs, dataverse.BatchOptions{ContinueOnError: true})
		if err != nil {
			return nil, err
		}
		var missing []string
		for i, r := range res {
			op := part[i]
			sr := syncer.Result{ID: op.ID}
			if r.Err != nil {
				sr.Err = writeError(r.Err)
				out = append(out, sr)
				continue
			}
			if r.EntityID != "" {
				sr.ID = strings.ToLower(r.EntityID)
			}
			id, mod := representation(r.Body, key)
			if id != "" {
				sr.ID = strings.ToLower(id)
			}
			if mod != "" {
				sr.ModifiedAt, _ = time.Parse(time.RFC3339Nano, mod)
			}
			if sr.ModifiedAt.IsZero() && op.Kind != syncer.OpDelete && sr.ID != "" {
				missing = append(missing, sr.ID)
			}
			out = append(out, sr)
		}
		if len(missing) > 0 {
			// No representation came back: read the modification times,
			// which echo suppression and conflict detection need.
			recs, err := s.Get(ctx, entity, key, missing)
			if err != nil {
				return nil, fmt.Errorf("read back modifiedon of %d written row(s): %w", len(missing), err)
			}
			at := map[string]time.Time{}
			for _, r := range recs {
				at[r.ID] = r.ModifiedAt
			}
			for i := range out {
				if t, ok := at[out[i].ID]; ok && out[i].ModifiedAt.IsZero() {
					out[i].ModifiedAt = t
				}
			}
		}
	}
	return out, nil
}

var attrRE = regexp.MustCompile(`'([a-z0-9_]+)' attribute|attribute '([a-z0-9_]+)'|property '([a-z0-9_]+)'|'([a-z0-9_]+)' property`)

// writeError keeps what Dataverse said, and the column it blamed.
func writeError(err error) error {
	var ae *dataverse.APIError
	if errors.As(err, &ae) {
		we := &syncer.WriteError{Status: ae.Status, Code: ae.Code, Message: ae.Message}
		if m := attrRE.FindStringSubmatch(ae.Message); m != nil {
			for _, g := range m[1:] {
				if g != "" {
					we.Field = g
					break
				}
			}
		}
		return we
	}
	return err
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	for i := 1; i < len(ks); i++ {
		for j := i; j > 0 && ks[j] < ks[j-1]; j-- {
			ks[j], ks[j-1] = ks[j-1], ks[j]
		}
	}
	return ks
}

// representation reads the key and modifiedon of a written row's
// representation, both strings, without decoding the rest into a map (0.2
// CPU s per 100,000 creates). A body that is not a JSON object gives
// neither: the caller then reads the row back.
func representation(body []byte, key string) (id, modified string) {
	if len(body) == 0 || !gjson.ValidBytes(body) {
		return "", ""
	}
	v := gjson.ParseBytes(body)
	if !v.IsObject() {
		return "", ""
	}
	v.ForEach(func(k, val gjson.Result) bool {
		if val.Type == gjson.String {
			switch k.String() {
			case key:
				id = val.String()
			case "modifiedon":
				modified = val.String()
			}
		}
		return true
	})
	return id, modified
}
