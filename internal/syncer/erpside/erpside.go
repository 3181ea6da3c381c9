// Package erpside is the ERP (Business Central API v2.0) side of the engine.
package erpside

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/syncer"
)

// MaxBatch is BC's limit of operations per $batch.
const MaxBatch = 100

// Side reads and writes BC records for the engine.
type Side struct {
	c        *bc.Client
	pageSize int
}

// DefaultPageSize is the ERP records per page when New is given 0. BC
// serves up to 20,000, but the engine decodes, transforms and writes a
// page before it reads the next: at 20,000 a page held about 100 MB of the
// run's working set at once.
const DefaultPageSize = 5000

// New returns the ERP side over a BC client; pageSize 0 = DefaultPageSize.
func New(c *bc.Client, pageSize int) *Side {
	if pageSize <= 0 {
		pageSize = DefaultPageSize
	}
	return &Side{c: c, pageSize: pageSize}
}

var _ syncer.Side = (*Side)(nil)

func (s *Side) Name() string                         { return "erp" }
func (s *Side) MaxBatch() int                        { return MaxBatch }
func (s *Side) Self(context.Context) (string, error) { return "", nil }

var guidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

func literal(v string) string {
	if guidRE.MatchString(v) {
		return v
	}
	return "'" + strings.ReplaceAll(v, "'", "''") + "'"
}

func and(parts []string) string {
	var keep []string
	for _, p := range parts {
		if strings.TrimSpace(p) != "" {
			keep = append(keep, "("+p+")")
		}
	}
	if len(keep) == 1 {
		return keep[0][1 : len(keep[0])-1]
	}
	return strings.Join(keep, " and ")
}

// Read pages through records ordered by lastModifiedDateTime.
func (s *Side) Read(ctx context.Context, q syncer.ReadQuery, fn func([]syncer.Record) error) error {
	var conds []string
	if !q.Since.IsZero() {
		conds = append(conds, fmt.Sprintf("%s ge %s", q.Modified, q.Since.UTC().Truncate(time.Millisecond).Format(bc.CursorLayout)))
	}
	keys := make([]string, 0, len(q.Equal))
	for k := range q.Equal {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		conds = append(conds, fmt.Sprintf("%s eq %s", k, literal(q.Equal[k])))
	}
	conds = append(conds, q.Filter)
	bq := bc.Query{Filter: and(conds), MaxPageSize: s.pageSize}
	if len(q.Select) > 0 {
		bq.Select = []string{"id"}
		if q.Modified != "" {
			bq.Select = append(bq.Select, q.Modified)
		}
		for _, f := range q.Select {
			if f != "" && !slices.Contains(bq.Select, f) {
				bq.Select = append(bq.Select, f)
			}
		}
	}
	if len(q.Equal) == 0 { // line sets have no lastModifiedDateTime
		bq.OrderBy = []string{q.Modified}
	}
	return s.c.ListFields(ctx, q.Entity, bq, func(page []map[string]any) error {
		recs, err := convert(q.Entity, q.Modified, page)
		if err != nil {
			return err
		}
		return fn(recs)
	})
}

// decode parses one record's JSON as ListFields does, numbers as json.Number.
func decode(entity string, raw json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var f map[string]any
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("%s record is not JSON: %w", entity, err)
	}
	return f, nil
}

// convert makes records of fields decoded by ListFields (the maps become their Fields).
func convert(entity, modified string, page []map[string]any) ([]syncer.Record, error) {
	out := make([]syncer.Record, 0, len(page))
	for i, f := range page {
		id, _ := f["id"].(string)
		if id == "" {
			return nil, fmt.Errorf("%s record %d has no id", entity, i+1)
		}
		rec := syncer.Record{ID: strings.ToLower(id), Fields: f}
		rec.ETag, _ = f["@odata.etag"].(string)
		if v, _ := f[modified].(string); v != "" {
			t, err := time.Parse(time.RFC3339Nano, v)
			if err != nil {
				return nil, fmt.Errorf("%s %s: %s %q is not a time: %w", entity, id, modified, v, err)
			}
			rec.ModifiedAt = t
		}
		out = append(out, rec)
	}
	return out, nil
}

// Get reads records by id, 50 per request (BC allows `or` on one field).
func (s *Side) Get(ctx context.Context, entity, key string, ids []string) ([]syncer.Record, error) {
	var out []syncer.Record
	for i := 0; i < len(ids); i += 50 {
		var ors []string
		for _, id := range ids[i:min(i+50, len(ids))] {
			ors = append(ors, "id eq "+literal(id))
		}
		recs, err := s.Find(ctx, entity, key, strings.Join(ors, " or "))
		if err != nil {
			return nil, err
		}
		out = append(out, recs...)
	}
	return out, nil
}

// Find reads the records matching a filter.
func (s *Side) Find(ctx context.Context, entity, key, filter string) ([]syncer.Record, error) {
	var out []syncer.Record
	err := s.c.ListFields(ctx, entity, bc.Query{Filter: filter, MaxPageSize: s.pageSize}, func(page []map[string]any) error {
		recs, err := convert(entity, "lastModifiedDateTime", page)
		out = append(out, recs...)
		return err
	})
	return out, err
}

// Write sends the ops as JSON $batch requests of at most 100 operations;
// each fails alone.
func (s *Side) Write(ctx context.Context, entity, key string, ops []syncer.Op) ([]syncer.Result, error) {
	bops := make([]bc.BatchOp, len(ops))
	for i, op := range ops {
		switch op.Kind {
		case syncer.OpCreate:
			bops[i] = bc.CreateOp(entity, op.Payload)
		case syncer.OpUpdate:
			etag := op.IfMatch
			if etag == "" {
				etag = "*"
			}
			bops[i] = bc.UpdateOp(entity, op.ID, etag, op.Payload)
		case syncer.OpDelete:
			bops[i] = bc.DeleteOp(entity, op.ID, op.IfMatch)
		}
	}
	res, err := s.c.Batch(ctx, bops, bc.BatchOptions{})
	if err != nil {
		return nil, err
	}
	out := make([]syncer.Result, len(ops))
	for i, r := range res {
		out[i].ID = ops[i].ID
		if r.Err != nil {
			out[i].Err = writeError(r.Err)
			continue
		}
		if len(r.Body) > 0 {
			if f, err := decode(entity, r.Body); err == nil {
				recs, err := convert(entity, "lastModifiedDateTime", []map[string]any{f})
				if err == nil && len(recs) == 1 {
					out[i].ID, out[i].ModifiedAt = recs[0].ID, recs[0].ModifiedAt
				}
			}
		}
	}
	return out, nil
}

var fieldRE = regexp.MustCompile(`"([A-Za-z0-9]+)"|'([A-Za-z0-9]+)'`)

// writeError keeps what BC said, and the field it quoted.
func writeError(err error) error {
	var ae *bc.APIError
	if errors.As(err, &ae) {
		we := &syncer.WriteError{Status: ae.Status, Code: ae.Code, Message: ae.Message}
		if m := fieldRE.FindStringSubmatch(ae.Message); m != nil {
			we.Field = m[1] + m[2]
		}
		return we
	}
	return err
}
