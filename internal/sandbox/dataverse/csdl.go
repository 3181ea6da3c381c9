package dataverse

import (
	"encoding/xml"
	"net/http"
	"strings"
)

var edmTypes = map[colType]string{
	tString: "Edm.String", tMemo: "Edm.String", tEntityName: "Edm.String", tInt: "Edm.Int32", tPicklist: "Edm.Int32",
	tState: "Edm.Int32", tStatus: "Edm.Int32", tBigInt: "Edm.Int64", tDecimal: "Edm.Decimal", tMoney: "Edm.Decimal",
	tDouble: "Edm.Double", tBool: "Edm.Boolean", tDateTime: "Edm.DateTimeOffset", tDateOnly: "Edm.Date",
	tGUID: "Edm.Guid", tLookup: "Edm.Guid",
}

func xmlAttr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&quot;")
}

// metadataDocument answers $metadata with a CSDL document of every table, its properties,
// keys and navigation properties, and the functions the simulator serves.
func (s *Server) metadataDocument(op *opRequest) (*result, error) {
	if op.method != http.MethodGet {
		return nil, errf(http.StatusMethodNotAllowed, codeODataGeneric, "$metadata only answers GET.")
	}
	defer s.rlock(op)()
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="utf-8"?>` + "\n")
	b.WriteString(`<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices>`)
	b.WriteString(`<Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">`)
	b.WriteString(`<EntityType Name="crmbaseentity" Abstract="true"/>`)
	tables := s.schema.sortedTables()
	for _, t := range tables {
		b.WriteString(`<EntityType Name="` + t.Logical + `" BaseType="mscrm.crmbaseentity"><Key><PropertyRef Name="` + t.Key + `"/></Key>`)
		for _, c := range t.cols {
			b.WriteString(`<Property Name="` + xmlAttr(c.readName()) + `" Type="` + edmTypes[c.Type] + `"`)
			if c.Type == tDecimal || c.Type == tMoney {
				b.WriteString(` Scale="Variable"`)
			}
			b.WriteString(`/>`)
		}
		for _, c := range t.cols {
			if c.Type != tLookup {
				continue
			}
			seen := map[string]bool{}
			for i, target := range c.Targets {
				nav := c.Name
				if i < len(c.Nav) && c.Nav[i] != "" {
					nav = c.Nav[i]
				}
				if seen[nav] || s.schema.table(target) == nil {
					continue
				}
				seen[nav] = true
				typ := "mscrm." + target
				if len(c.Targets) > 1 && c.Nav[i] == c.Name {
					typ = "mscrm.principal"
				}
				b.WriteString(`<NavigationProperty Name="` + xmlAttr(nav) + `" Type="` + typ + `"><ReferentialConstraint Property="` + lookupValueName(c.Name) + `" ReferencedProperty="` + s.schema.table(target).Key + `"/></NavigationProperty>`)
			}
		}
		for name, cn := range t.Collections {
			b.WriteString(`<NavigationProperty Name="` + xmlAttr(name) + `" Type="Collection(mscrm.` + cn.Child + `)"/>`)
		}
		if t.Logical == "systemuser" {
			b.WriteString(`<NavigationProperty Name="systemuserroles_association" Type="Collection(mscrm.role)"/>`)
		}
		if t.Logical == "role" {
			b.WriteString(`<NavigationProperty Name="systemuserroles_association" Type="Collection(mscrm.systemuser)"/>`)
		}
		b.WriteString(`</EntityType>`)
	}
	b.WriteString(`<EntityType Name="principal" BaseType="mscrm.crmbaseentity" Abstract="true"/>`)
	b.WriteString(`<ComplexType Name="WhoAmIResponse"><Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false"/><Property Name="UserId" Type="Edm.Guid" Nullable="false"/><Property Name="OrganizationId" Type="Edm.Guid" Nullable="false"/></ComplexType>`)
	b.WriteString(`<ComplexType Name="RetrieveVersionResponse"><Property Name="Version" Type="Edm.String" Unicode="false"/></ComplexType>`)
	b.WriteString(`<Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/></Function>`)
	b.WriteString(`<Function Name="RetrieveVersion"><ReturnType Type="mscrm.RetrieveVersionResponse" Nullable="false"/></Function>`)
	b.WriteString(`<Action Name="ImportSolution"><Parameter Name="OverwriteUnmanagedCustomizations" Type="Edm.Boolean" Nullable="false"/><Parameter Name="PublishWorkflows" Type="Edm.Boolean" Nullable="false"/><Parameter Name="CustomizationFile" Type="Edm.Binary" Nullable="false"/><Parameter Name="ImportJobId" Type="Edm.Guid" Nullable="false"/></Action>`)
	b.WriteString(`<EntityContainer Name="System">`)
	for _, t := range tables {
		b.WriteString(`<EntitySet Name="` + t.Set + `" EntityType="mscrm.` + t.Logical + `"/>`)
	}
	b.WriteString(`<FunctionImport Name="WhoAmI" Function="mscrm.WhoAmI"/><FunctionImport Name="RetrieveVersion" Function="mscrm.RetrieveVersion"/><ActionImport Name="ImportSolution" Action="mscrm.ImportSolution"/>`)
	b.WriteString(`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	res := newResult(http.StatusOK)
	res.header.Set("Content-Type", "application/xml")
	res.body = []byte(b.String())
	return res, nil
}
