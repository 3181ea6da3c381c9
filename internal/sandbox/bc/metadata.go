package bc

import (
	"bytes"
	"net/http"
	"slices"
	"strconv"
)

// metadata serves the CSDL of an API root: enums, entity types with their contained line
// sets, bound actions, and an entity container.
func (s *Server) metadata(w http.ResponseWriter, r *http.Request, root apiRoot) {
	if r.Method != http.MethodGet {
		writeAPIError(w, errf(http.StatusMethodNotAllowed, codeMethodNotAllowed, "'%s' requests for '$metadata' are not allowed.", r.Method))
		return
	}
	var b bytes.Buffer
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>`)
	b.WriteString(`<Schema Namespace="Microsoft.NAV" xmlns="http://docs.oasis-open.org/odata/ns/edm">`)
	var sets []*entitySet
	for _, n := range s.setOrder {
		if st := s.sets[n]; st.automation == root.automation {
			sets = append(sets, st)
		}
	}
	usedEnums := map[string]bool{}
	for _, st := range sets {
		for _, f := range st.fields {
			if f.kind == kEnum {
				usedEnums[f.enum] = true
			}
		}
	}
	names := make([]string, 0, len(usedEnums))
	for n := range usedEnums {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		b.WriteString(`<EnumType Name="` + n + `">`)
		for i, m := range enums[n] {
			b.WriteString(`<Member Name="` + m + `" Value="` + strconv.Itoa(i) + `"/>`)
		}
		b.WriteString(`</EnumType>`)
	}
	b.WriteString(`<EntityType Name="company"><Key><PropertyRef Name="id"/></Key>`)
	for _, p := range [][2]string{{"id", "Edm.Guid"}, {"systemVersion", "Edm.String"}, {"timestamp", "Edm.Int64"}, {"name", "Edm.String"},
		{"displayName", "Edm.String"}, {"businessProfileId", "Edm.String"}, {"systemCreatedAt", "Edm.DateTimeOffset"},
		{"systemCreatedBy", "Edm.Guid"}, {"systemModifiedAt", "Edm.DateTimeOffset"}, {"systemModifiedBy", "Edm.Guid"}} {
		nullable := ""
		if p[0] == "id" {
			nullable = ` Nullable="false"`
		}
		b.WriteString(`<Property Name="` + p[0] + `" Type="` + p[1] + `"` + nullable + `/>`)
	}
	for _, st := range sets {
		if st.parent == "" {
			b.WriteString(`<NavigationProperty Name="` + st.name + `" Type="Collection(Microsoft.NAV.` + st.entity + `)" ContainsTarget="true"/>`)
		}
	}
	b.WriteString(`</EntityType>`)
	for _, st := range sets {
		b.WriteString(`<EntityType Name="` + st.entity + `"><Key><PropertyRef Name="` + st.keyField + `"/></Key>`)
		for _, f := range st.fields {
			typ := f.kind.edm()
			if f.kind == kEnum {
				typ = "Microsoft.NAV." + f.enum
			}
			b.WriteString(`<Property Name="` + f.name + `" Type="` + typ + `"`)
			if f.name == st.keyField {
				b.WriteString(` Nullable="false"`)
			}
			if f.maxLen > 0 {
				b.WriteString(` MaxLength="` + strconv.Itoa(f.maxLen) + `"`)
			}
			if f.kind == kDecimal {
				b.WriteString(` Scale="Variable"`)
			}
			b.WriteString(`/>`)
		}
		if st.lines != "" {
			lt := s.sets[st.lines]
			b.WriteString(`<NavigationProperty Name="` + st.lines + `" Type="Collection(Microsoft.NAV.` + lt.entity + `)" ContainsTarget="true"/>`)
		}
		if st.parent != "" {
			pt := s.sets[st.parent]
			b.WriteString(`<NavigationProperty Name="` + pt.entity + `" Type="Microsoft.NAV.` + pt.entity + `"/>`)
		}
		b.WriteString(`</EntityType>`)
	}
	for _, st := range sets {
		for _, a := range st.actions {
			b.WriteString(`<Action Name="` + a + `" IsBound="true"><Parameter Name="bindingParameter" Type="Microsoft.NAV.` + st.entity + `"/></Action>`)
		}
	}
	b.WriteString(`<EntityContainer Name="NAV"><EntitySet Name="companies" EntityType="Microsoft.NAV.company"/>`)
	for _, st := range sets {
		b.WriteString(`<EntitySet Name="` + st.name + `" EntityType="Microsoft.NAV.` + st.entity + `"/>`)
	}
	b.WriteString(`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(b.Len()))
	_, _ = w.Write(b.Bytes())
}
