package main

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// copyBatch rows go in one INSERT: well under both databases' limits on
// bound parameters (SQLite 32,766, PostgreSQL 65,535) for any table here.
const copyBatch = 200

// copyTable streams table t from the source into the destination
// transaction, converting each value to the destination column's type.
func copyTable(ctx context.Context, src *sql.DB, srcDialect string, tx *sql.Tx, dstDialect, t string) (int64, error) {
	scols, err := columns(ctx, src, srcDialect, t)
	if err != nil {
		return 0, fmt.Errorf("source: %w", err)
	}
	dcols, err := columns(ctx, tx, dstDialect, t)
	if err != nil {
		return 0, fmt.Errorf("destination: %w", err)
	}
	if len(scols) != len(dcols) {
		return 0, fmt.Errorf("table %s: %d columns in the source, %d in the destination: both should be at this coupler's schema version", t, len(scols), len(dcols))
	}
	names := make([]string, len(dcols))
	for i, c := range dcols {
		if scols[i].name != c.name {
			return 0, fmt.Errorf("table %s: column %d is %s in the source but %s in the destination", t, i+1, scols[i].name, c.name)
		}
		names[i] = c.name
	}
	list := strings.Join(names, ", ")
	rows, err := src.QueryContext(ctx, `SELECT `+list+` FROM `+t)
	if err != nil {
		return 0, fmt.Errorf("read source table %s: %w", t, err)
	}
	defer rows.Close()

	var (
		n     int64
		batch []any
	)
	flush := func() error {
		if len(batch) == 0 {
			return nil
		}
		var b strings.Builder
		b.WriteString(`INSERT INTO ` + t + ` (` + list + `) VALUES `)
		for r := 0; r < len(batch)/len(dcols); r++ {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range dcols {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString("$" + strconv.Itoa(r*len(dcols)+c+1))
			}
			b.WriteByte(')')
		}
		if _, err := tx.ExecContext(ctx, b.String(), batch...); err != nil {
			return fmt.Errorf("write destination table %s (rows %d–%d): %w", t, n-int64(len(batch)/len(dcols))+1, n, err)
		}
		batch = batch[:0]
		return nil
	}
	vals := make([]any, len(dcols))
	ptrs := make([]any, len(dcols))
	for i := range vals {
		ptrs[i] = &vals[i]
	}
	for rows.Next() {
		if err := rows.Scan(ptrs...); err != nil {
			return n, fmt.Errorf("read source table %s: %w", t, err)
		}
		n++
		for i, v := range vals {
			cv, err := convert(v, dcols[i].typ)
			if err != nil {
				return n, fmt.Errorf("table %s, row %d, column %s: %w", t, n, dcols[i].name, err)
			}
			batch = append(batch, cv)
		}
		if len(batch) >= copyBatch*len(dcols) {
			if err := flush(); err != nil {
				return n, err
			}
		}
	}
	if err := rows.Err(); err != nil {
		return n, fmt.Errorf("read source table %s: %w", t, err)
	}
	return n, flush()
}

// timeLayouts are the text forms a timestamp may have in SQLite.
var timeLayouts = []string{
	"2006-01-02 15:04:05.999999999-07:00",
	time.RFC3339Nano,
	"2006-01-02 15:04:05.999999999",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02 15:04:05",
}

// convert turns a value read from one database into what the other's
// column type takes: SQLite keeps booleans as integers and may return
// text for timestamps and JSON; PostgreSQL returns JSON as bytes.
func convert(v any, typ string) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch {
	case typ == "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case int64:
			return x != 0, nil
		case string:
			return strconv.ParseBool(x)
		}
	case strings.HasPrefix(typ, "timestamp"):
		switch x := v.(type) {
		case time.Time:
			return x.UTC(), nil
		case string:
			for _, l := range timeLayouts {
				if tm, err := time.Parse(l, x); err == nil {
					return tm.UTC(), nil
				}
			}
			return nil, fmt.Errorf("%q is not a timestamp", x)
		}
	case typ == "jsonb" || typ == "text":
		switch x := v.(type) {
		case []byte:
			return string(x), nil
		case string:
			return x, nil
		}
	case typ == "bytea" || typ == "blob":
		switch x := v.(type) {
		case string:
			return []byte(x), nil
		case []byte:
			return x, nil
		}
	default:
		return v, nil
	}
	return nil, fmt.Errorf("a %T value cannot go into a %s column", v, typ)
}
