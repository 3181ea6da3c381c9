package dataverse

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"

	"github.com/coupler/coupler/internal/odata"
	"github.com/google/uuid"
)

// entityDefinitions serves the metadata API: EntityDefinitions, …/Attributes, …/Keys.
func (s *Server) entityDefinitions(op *opRequest, segs []segment) (*result, error) {
	if len(segs) == 1 && !segs[0].hasKey {
		switch op.method {
		case http.MethodGet:
			s.db.mu.RLock()
			defer s.db.mu.RUnlock()
			var recs []odata.Record
			for _, t := range s.schema.sortedTables() {
				recs = append(recs, entityRecord(t))
			}
			return s.metaList(op, "EntityDefinitions", recs)
		case http.MethodPost:
			return s.createTable(op)
		}
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "The HTTP method '%s' is not allowed on EntityDefinitions.", op.method)
	}
	if !segs[0].hasKey {
		return nil, noSegment(segs[1].name)
	}
	s.db.mu.RLock()
	t := s.tableByMetaKey(segs[0].key)
	s.db.mu.RUnlock()
	if t == nil {
		return nil, errf(http.StatusNotFound, codeObjectDoesNotExist, "Could not find an entity with the key %s.", segs[0].key)
	}
	if len(segs) == 1 {
		if op.method != http.MethodGet {
			return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "Updating a table definition is not supported by the simulator.")
		}
		s.db.mu.RLock()
		defer s.db.mu.RUnlock()
		rec := entityRecord(t)
		if vals, _ := url.ParseQuery(op.query); vals.Get("$expand") != "" && strings.Contains(vals.Get("$expand"), "Attributes") {
			rec["Attributes"] = attributeRecords(t)
		}
		return s.metaOne(op, "EntityDefinitions/$entity", rec)
	}
	switch segs[1].name {
	case "Attributes":
		if op.method == http.MethodPost && !segs[1].hasKey {
			return s.createAttribute(op, t)
		}
		if op.method != http.MethodGet {
			return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "The HTTP method '%s' is not allowed on Attributes.", op.method)
		}
		s.db.mu.RLock()
		defer s.db.mu.RUnlock()
		recs := attributeRecords(t)
		if segs[1].hasKey {
			for _, r := range recs {
				if metaKeyMatches(segs[1].key, r["LogicalName"].(string), r["MetadataId"].(string)) {
					return s.metaOne(op, "EntityDefinitions('"+t.Logical+"')/Attributes/$entity", r)
				}
			}
			return nil, errf(http.StatusNotFound, codeObjectDoesNotExist, "Could not find an attribute with the key %s on %s.", segs[1].key, t.Logical)
		}
		return s.metaList(op, "EntityDefinitions('"+t.Logical+"')/Attributes", recs)
	case "Keys":
		if op.method == http.MethodPost {
			return s.createKey(op, t)
		}
		s.db.mu.RLock()
		defer s.db.mu.RUnlock()
		var recs []odata.Record
		for _, k := range t.AltKeys {
			recs = append(recs, keyRecord(t, k))
		}
		return s.metaList(op, "EntityDefinitions('"+t.Logical+"')/Keys", recs)
	}
	return nil, noSegment(segs[1].name)
}

func metaKeyMatches(key, logical, id string) bool {
	if strings.HasPrefix(key, "LogicalName=") {
		v, _ := parseLiteral(strings.TrimPrefix(key, "LogicalName="))
		name, _ := v.(string)
		return name == logical
	}
	return strings.EqualFold(strings.Trim(key, "{}"), id)
}

func (s *Server) tableByMetaKey(key string) *Table {
	for _, t := range s.schema.tables {
		if metaKeyMatches(key, t.Logical, t.MetadataID) {
			return t
		}
	}
	return nil
}

func label(text string) map[string]any {
	return map[string]any{"LocalizedLabels": []map[string]any{{"Label": text, "LanguageCode": 1033}},
		"UserLocalizedLabel": map[string]any{"Label": text, "LanguageCode": 1033}}
}

func entityRecord(t *Table) odata.Record {
	return odata.Record{
		"MetadataId": t.MetadataID, "LogicalName": t.Logical, "SchemaName": schemaName(t.Logical),
		"EntitySetName": t.Set, "LogicalCollectionName": t.Set, "PrimaryIdAttribute": t.Key, "PrimaryNameAttribute": t.PrimaryName,
		"ObjectTypeCode": int64(t.TypeCode), "OwnershipType": ownershipName(t.Ownership), "IsCustomEntity": t.Custom,
		"ChangeTrackingEnabled": true, "IsActivity": false, "DisplayName": label(t.Logical),
	}
}

func ownershipName(o string) string {
	if o == "None" {
		return "None"
	}
	return o
}

func schemaName(logical string) string {
	if logical == "" {
		return ""
	}
	return strings.ToUpper(logical[:1]) + logical[1:]
}

var metaTypeNames = map[colType]string{
	tString: "StringType", tMemo: "MemoType", tInt: "IntegerType", tBigInt: "BigIntType", tDecimal: "DecimalType",
	tDouble: "DoubleType", tMoney: "MoneyType", tBool: "BooleanType", tDateTime: "DateTimeType", tDateOnly: "DateTimeType",
	tPicklist: "PicklistType", tState: "StateType", tStatus: "StatusType", tLookup: "LookupType", tGUID: "UniqueidentifierType",
	tEntityName: "EntityNameType",
}

func attributeRecords(t *Table) []odata.Record {
	out := make([]odata.Record, 0, len(t.cols))
	for _, c := range t.cols {
		kind := typeNames[c.Type]
		if c.Type == tLookup && len(c.Targets) > 1 {
			kind = "Customer"
			if c.Name == "ownerid" {
				kind = "Owner"
			}
		}
		r := odata.Record{
			"@odata.type": "#Microsoft.Dynamics.CRM." + strings.TrimSuffix(metaTypeNames[c.Type], "Type") + "AttributeMetadata",
			"MetadataId":  deterministicID("attr:" + t.Logical + "." + c.Name).String(), "LogicalName": c.Name, "SchemaName": schemaName(c.Name),
			"EntityLogicalName": t.Logical, "AttributeType": kind, "AttributeTypeName": map[string]string{"Value": metaTypeNames[c.Type]},
			"IsCustomAttribute": c.Custom, "IsPrimaryId": c.Name == t.Key, "IsPrimaryName": c.Name == t.PrimaryName,
			"IsValidForCreate": c.Access&accCreate != 0, "IsValidForUpdate": c.Access&accUpdate != 0, "IsValidForRead": true,
		}
		if c.MaxLen > 0 {
			r["MaxLength"] = int64(c.MaxLen)
		}
		if c.Type == tLookup {
			r["Targets"] = c.Targets
		}
		if c.Type == tDateOnly {
			r["Format"] = "DateOnly"
		}
		out = append(out, r)
	}
	return out
}

func keyRecord(t *Table, k []string) odata.Record {
	return odata.Record{"MetadataId": deterministicID("key:" + t.Logical + ":" + strings.Join(k, ",")).String(),
		"LogicalName": t.Logical + "_" + strings.Join(k, "_") + "_key", "EntityLogicalName": t.Logical,
		"KeyAttributes": k, "EntityKeyIndexStatus": "Active"}
}

func (s *Server) metaList(op *opRequest, ctx string, recs []odata.Record) (*result, error) {
	q, err := odata.ParseQuery(mustQuery(op.query))
	if err != nil {
		return nil, badRequest(codeODataGeneric, "%v", err)
	}
	out := make([]odata.Record, 0, len(recs))
	for _, r := range recs {
		if q.Filter != nil {
			ok, err := q.Filter.Match(r)
			if err != nil {
				return nil, badRequest(codeODataGeneric, "Invalid $filter: %v", err)
			}
			if !ok {
				continue
			}
		}
		out = append(out, odata.SelectFields(r, q.Select))
	}
	b, _ := json.Marshal(map[string]any{"@odata.context": op.caller.apiURL + "$metadata#" + ctx, "value": out})
	return jsonResult(http.StatusOK, b), nil
}

func (s *Server) metaOne(op *opRequest, ctx string, rec odata.Record) (*result, error) {
	q, err := odata.ParseQuery(mustQuery(op.query))
	if err != nil {
		return nil, badRequest(codeODataGeneric, "%v", err)
	}
	out := odata.SelectFields(rec, q.Select)
	if v, ok := rec["Attributes"]; ok {
		out["Attributes"] = v
	}
	out["@odata.context"] = op.caller.apiURL + "$metadata#" + ctx
	b, _ := json.Marshal(out)
	return jsonResult(http.StatusOK, b), nil
}

func mustQuery(raw string) url.Values {
	v, _ := url.ParseQuery(raw)
	delete(v, "$expand")
	return v
}

type attributeDef struct {
	ODataType         string `json:"@odata.type"`
	AttributeType     string
	AttributeTypeName struct{ Value string }
	SchemaName        string
	MaxLength         int
	IsPrimaryName     bool
	Format            string
	OptionSet         struct {
		Options []struct {
			Value int
			Label struct {
				LocalizedLabels []struct{ Label string }
			}
		}
	}
}

func (a attributeDef) colType() (colType, error) {
	kind := a.AttributeType
	if kind == "" {
		kind = strings.TrimSuffix(a.AttributeTypeName.Value, "Type")
	}
	if kind == "" {
		kind = strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(a.ODataType, "#"), "Microsoft.Dynamics.CRM."), "AttributeMetadata")
	}
	switch strings.ToLower(kind) {
	case "string":
		return tString, nil
	case "memo":
		return tMemo, nil
	case "integer":
		return tInt, nil
	case "bigint":
		return tBigInt, nil
	case "decimal":
		return tDecimal, nil
	case "double":
		return tDouble, nil
	case "money":
		return tMoney, nil
	case "boolean":
		return tBool, nil
	case "datetime":
		if a.Format == "DateOnly" {
			return tDateOnly, nil
		}
		return tDateTime, nil
	case "picklist":
		return tPicklist, nil
	case "uniqueidentifier":
		return tGUID, nil
	}
	return 0, fmt.Errorf("attribute type %q cannot be created by the simulator (supported: String, Memo, Integer, BigInt, Decimal, Double, Money, Boolean, DateTime, Picklist, Uniqueidentifier; lookups come from relationships)", kind)
}

func (a attributeDef) column() (*Column, error) {
	ct, err := a.colType()
	if err != nil {
		return nil, err
	}
	name := strings.ToLower(a.SchemaName)
	if !strings.Contains(name, "_") {
		return nil, fmt.Errorf("schema name %q has no customization prefix: use the publisher prefix, e.g. new_%s", a.SchemaName, name)
	}
	c := &Column{Name: name, Type: ct, Access: accCU, Custom: true}
	if ct == tString || ct == tMemo {
		c.MaxLen = a.MaxLength
		if c.MaxLen <= 0 {
			c.MaxLen = 100
		}
	}
	if ct == tPicklist {
		c.Options = map[int]string{}
		for _, o := range a.OptionSet.Options {
			l := ""
			if len(o.Label.LocalizedLabels) > 0 {
				l = o.Label.LocalizedLabels[0].Label
			}
			c.Options[o.Value] = l
		}
	}
	return c, nil
}

// createAttribute answers POST EntityDefinitions(…)/Attributes.
func (s *Server) createAttribute(op *opRequest, t *Table) (*result, error) {
	var a attributeDef
	if err := json.Unmarshal(op.body, &a); err != nil {
		return nil, badRequest(codeODataGeneric, "Invalid attribute definition JSON: %v", err)
	}
	c, err := a.column()
	if err != nil {
		return nil, badRequest(codeInvalidArgument, "%v", err)
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	if t.col(c.Name) != nil {
		return nil, badRequest(codeDuplicateRecord, "An attribute with the specified name %s already exists on %s.", c.Name, t.Logical)
	}
	t.addColumn(c)
	res := newResult(http.StatusNoContent)
	res.header["OData-EntityId"] = []string{op.caller.apiURL + "EntityDefinitions(" + t.MetadataID + ")/Attributes(" + deterministicID("attr:"+t.Logical+"."+c.Name).String() + ")"}
	return res, nil
}

// createTable answers POST EntityDefinitions with a new custom table.
func (s *Server) createTable(op *opRequest) (*result, error) {
	var in struct {
		SchemaName    string
		OwnershipType string
		Attributes    []attributeDef
	}
	if err := json.Unmarshal(op.body, &in); err != nil {
		return nil, badRequest(codeODataGeneric, "Invalid entity definition JSON: %v", err)
	}
	logical := strings.ToLower(in.SchemaName)
	if !strings.Contains(logical, "_") {
		return nil, badRequest(codeInvalidArgument, "schema name %q has no customization prefix: use the publisher prefix, e.g. new_%s", in.SchemaName, logical)
	}
	ownership := in.OwnershipType
	if ownership != "OrganizationOwned" {
		ownership = "UserOwned"
	}
	b := newTable(logical, logical+"s", logical+"id", "", 10000, ownership)
	b.t.Custom = true
	for _, a := range in.Attributes {
		c, err := a.column()
		if err != nil {
			return nil, badRequest(codeInvalidArgument, "%v", err)
		}
		if a.IsPrimaryName {
			b.t.PrimaryName = c.Name
			c.Index = true
		}
		b.add(c)
	}
	if b.t.PrimaryName == "" {
		return nil, badRequest(codeInvalidArgument, "A new table needs one String attribute with IsPrimaryName = true.")
	}
	b.activeInactive().system()
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	b.t.TypeCode = 10000 + len(s.schema.tables)
	b.t.MetadataID = deterministicID("entity:" + logical).String()
	if err := s.schema.add(b.t); err != nil {
		return nil, badRequest(codeDuplicateRecord, "%v", err)
	}
	res := newResult(http.StatusNoContent)
	res.header["OData-EntityId"] = []string{op.caller.apiURL + "EntityDefinitions(" + b.t.MetadataID + ")"}
	return res, nil
}

// createKey answers POST EntityDefinitions(…)/Keys: an alternate key, built over the
// existing rows (refused when they already hold duplicates).
func (s *Server) createKey(op *opRequest, t *Table) (*result, error) {
	var in struct {
		SchemaName    string
		KeyAttributes []string
	}
	if err := json.Unmarshal(op.body, &in); err != nil || len(in.KeyAttributes) == 0 {
		return nil, badRequest(codeODataGeneric, "A key definition needs \"KeyAttributes\": [\"column\", …].")
	}
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	for _, a := range in.KeyAttributes {
		c := t.col(a)
		if c == nil {
			return nil, badProperty(t, a)
		}
		switch c.Type {
		case tString, tInt, tBigInt, tDecimal, tLookup, tDateTime, tDateOnly, tPicklist, tGUID:
		default:
			return nil, badRequest(codeInvalidArgument, "The attribute %s (%s) cannot be part of a key.", a, typeNames[c.Type])
		}
	}
	for _, k := range t.AltKeys {
		if strings.Join(k, ",") == strings.Join(in.KeyAttributes, ",") {
			return nil, badRequest(codeDuplicateRecord, "A key on %s with the attributes %s already exists.", t.Logical, strings.Join(k, ","))
		}
	}
	ts := s.db.store(t.Logical)
	prev := t.AltKeys
	t.AltKeys = append(append([][]string{}, prev...), append([]string{}, in.KeyAttributes...))
	name := strings.Join(in.KeyAttributes, ",")
	ts.alt[name] = map[string]uuid.UUID{}
	ids := make([]uuid.UUID, 0, len(ts.byID))
	for id := range ts.byID {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ts.byID[ids[i]].seq < ts.byID[ids[j]].seq })
	for _, id := range ids {
		r := ts.byID[id]
		for _, k := range ts.altKeys(r) {
			kn, val, _ := strings.Cut(k, "\x00")
			if kn != name {
				continue
			}
			if other, dup := ts.alt[kn][val]; dup {
				delete(ts.alt, name)
				t.AltKeys = prev
				return nil, badRequest(codeDuplicateRecord, "The key on %s (%s) cannot be created: records %s and %s share the value %q.", t.Logical, name, other, id, strings.ReplaceAll(val, "\x00", ","))
			}
			ts.alt[kn][val] = id
		}
	}
	res := newResult(http.StatusNoContent)
	res.header["OData-EntityId"] = []string{op.caller.apiURL + "EntityDefinitions(" + t.MetadataID + ")/Keys(" + deterministicID("key:"+t.Logical+":"+name).String() + ")"}
	return res, nil
}
