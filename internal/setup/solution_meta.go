package setup

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/odata"
)

// What the integration solution creates in the CRM (publisher prefix cpl).
// Other packages (links, statistics) use these names.
const (
	ConnectionTable   = "cpl_connection"        // one row per coupler connection
	ColConnectionName = "cpl_name"              // primary name: the connection name
	ColWebClientURL   = "cpl_webclienturl"      // ERP web client URL
	ColERPCompany     = "cpl_erpcompany"        // ERP company name
	ColERPLink        = "cpl_erplink"           // on accounts, contacts, products, salesorders
	StatisticsTable   = "cpl_accountstatistics" // ERP figures per coupled account
	ColStatsName      = "cpl_name"              // primary name: the ERP customer no.
	ColStatsAccountID = "cpl_accountid"         // the account's id (alternate key)
)

// StatisticsColumns are the decimal figures of the account statistics table.
var StatisticsColumns = []string{
	"cpl_balance", "cpl_balancedue", "cpl_creditlimit", "cpl_sales", "cpl_outstandingorders",
	"cpl_shippednotinvoiced", "cpl_outstandinginvoices", "cpl_overdueamount",
}

// LinkTables are the CRM tables that carry the "ERP link" column.
var LinkTables = []string{"account", "contact", "product", "salesorder"}

// column is one attribute the solution needs.
type column struct {
	schema, label, kind string // kind: String, Decimal, DateTime
	maxLen              int
	primary             bool
}

type table struct {
	schema, label, plural string
	cols                  []column
	key                   []string // alternate key columns, if any
}

func solutionTables() []table {
	stats := table{schema: "cpl_AccountStatistics", label: "Account Statistics", plural: "Account Statistics",
		cols: []column{{schema: "cpl_Name", label: "Customer No.", kind: "String", maxLen: 100, primary: true},
			{schema: "cpl_AccountId", label: "Account", kind: "String", maxLen: 100},
			{schema: "cpl_CurrencyCode", label: "Currency", kind: "String", maxLen: 10},
			{schema: "cpl_LastUpdated", label: "Last Updated", kind: "DateTime"}},
		key: []string{ColStatsAccountID}}
	labels := map[string]string{"cpl_balance": "Balance", "cpl_balancedue": "Balance Due", "cpl_creditlimit": "Credit Limit",
		"cpl_sales": "Sales", "cpl_outstandingorders": "Outstanding Orders", "cpl_shippednotinvoiced": "Shipped Not Invoiced",
		"cpl_outstandinginvoices": "Outstanding Invoices", "cpl_overdueamount": "Overdue Amount"}
	for _, c := range StatisticsColumns {
		stats.cols = append(stats.cols, column{schema: c, label: labels[c], kind: "Decimal"})
	}
	return []table{
		{schema: "cpl_Connection", label: "ERP Connection", plural: "ERP Connections",
			cols: []column{{schema: "cpl_Name", label: "Name", kind: "String", maxLen: 100, primary: true},
				{schema: "cpl_WebClientURL", label: "ERP Web Client URL", kind: "String", maxLen: 1000},
				{schema: "cpl_ERPCompany", label: "ERP Company", kind: "String", maxLen: 100},
				{schema: "cpl_ODataURL", label: "Item Availability OData URL", kind: "String", maxLen: 1000},
				{schema: "cpl_ODataUserName", label: "Item Availability User Name", kind: "String", maxLen: 100}}},
		stats,
	}
}

var erpLinkColumn = column{schema: "cpl_ERPLink", label: "ERP Link", kind: "String", maxLen: 1000}

func lbl(text string) map[string]any {
	l := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.LocalizedLabel", "Label": text, "LanguageCode": 1033}
	return map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.Label", "LocalizedLabels": []any{l}, "UserLocalizedLabel": l}
}

// definition is the Web API's AttributeMetadata body of the column.
func (c column) definition() map[string]any {
	d := map[string]any{
		"@odata.type": "Microsoft.Dynamics.CRM." + c.kind + "AttributeMetadata", "AttributeType": c.kind,
		"AttributeTypeName": map[string]string{"Value": c.kind + "Type"}, "SchemaName": c.schema,
		"DisplayName": lbl(c.label), "Description": lbl(c.label + " (coupler integration)"),
		"RequiredLevel": map[string]any{"Value": "None", "CanBeChanged": true, "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
	}
	switch c.kind {
	case "String":
		d["MaxLength"], d["FormatName"] = c.maxLen, map[string]string{"Value": "Text"}
		if strings.HasSuffix(strings.ToLower(c.schema), "url") || strings.HasSuffix(strings.ToLower(c.schema), "link") {
			d["FormatName"] = map[string]string{"Value": "Url"}
		}
		if c.primary {
			d["IsPrimaryName"] = true
		}
	case "Decimal":
		d["Precision"], d["MinValue"], d["MaxValue"] = 2, -100000000000.0, 100000000000.0
	case "DateTime":
		d["Format"], d["DateTimeBehavior"] = "DateAndTime", map[string]string{"Value": "UserLocal"}
	}
	return d
}

// SolutionChange is one component the import created.
type SolutionChange struct{ Kind, Name string }

// EnsureSolutionComponents creates, through the metadata API, every table,
// column, key and role of the integration solution that is missing, and
// leaves existing ones alone: running it twice changes nothing, and a newer
// coupler adds what its version brings (upgrade in place).
func EnsureSolutionComponents(ctx context.Context, crm *dataverse.Client) ([]SolutionChange, error) {
	var changes []SolutionChange
	for _, t := range solutionTables() {
		logical := strings.ToLower(t.schema)
		cols, exists, err := tableColumns(ctx, crm, logical)
		if err != nil {
			return changes, err
		}
		if !exists {
			body := map[string]any{"@odata.type": "Microsoft.Dynamics.CRM.EntityMetadata", "SchemaName": t.schema,
				"DisplayName": lbl(t.label), "DisplayCollectionName": lbl(t.plural), "Description": lbl(t.label + " (coupler integration)"),
				"OwnershipType": "OrganizationOwned", "IsActivity": false, "HasActivities": false, "HasNotes": false}
			var attrs []any
			for _, c := range t.cols {
				attrs = append(attrs, c.definition())
			}
			body["Attributes"] = attrs
			if err := postJSON(ctx, crm, "EntityDefinitions", body); err != nil {
				return changes, fmt.Errorf("create table %s: %w", logical, err)
			}
			changes = append(changes, SolutionChange{"table", logical})
		} else {
			for _, c := range t.cols {
				if cols[strings.ToLower(c.schema)] {
					continue
				}
				if err := addColumn(ctx, crm, logical, c); err != nil {
					return changes, err
				}
				changes = append(changes, SolutionChange{"column", logical + "." + strings.ToLower(c.schema)})
			}
		}
		if len(t.key) > 0 {
			added, err := ensureKey(ctx, crm, logical, t.key)
			if err != nil {
				return changes, err
			}
			if added {
				changes = append(changes, SolutionChange{"key", logical + "(" + strings.Join(t.key, ",") + ")"})
			}
		}
	}
	for _, logical := range LinkTables {
		cols, exists, err := tableColumns(ctx, crm, logical)
		if err != nil {
			return changes, err
		}
		if !exists {
			return changes, fmt.Errorf("the CRM has no %s table: is it a Dynamics 365 Sales organisation?", logical)
		}
		if cols[ColERPLink] {
			continue
		}
		if err := addColumn(ctx, crm, logical, erpLinkColumn); err != nil {
			return changes, err
		}
		changes = append(changes, SolutionChange{"column", logical + "." + ColERPLink})
	}
	roles, err := ensureRoles(ctx, crm)
	return append(changes, roles...), err
}

func addColumn(ctx context.Context, crm *dataverse.Client, logical string, c column) error {
	if err := postJSON(ctx, crm, "EntityDefinitions(LogicalName='"+logical+"')/Attributes", c.definition()); err != nil {
		return fmt.Errorf("add column %s to %s: %w", strings.ToLower(c.schema), logical, err)
	}
	return nil
}

func postJSON(ctx context.Context, crm *dataverse.Client, path string, body any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	// No MSCRM.SolutionUniqueName header: the solution is managed, and the
	// CRM refuses to add components to a managed solution; they land in the
	// default solution, and the test connection checks them one by one.
	_, err = crm.Do(ctx, dataverse.Request{Method: http.MethodPost, Path: path, Body: b})
	return err
}

// tableColumns returns the logical names of a table's columns; exists is
// false when the table is not defined.
func tableColumns(ctx context.Context, crm *dataverse.Client, logical string) (map[string]bool, bool, error) {
	resp, err := crm.Do(ctx, dataverse.Request{Method: http.MethodGet,
		Path: "EntityDefinitions(LogicalName='" + logical + "')/Attributes", Query: url.Values{"$select": {"LogicalName"}}})
	if err != nil {
		if errors.Is(err, dataverse.ErrNotFound) {
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read the columns of %s: %w", logical, err)
	}
	var page struct {
		Value []struct{ LogicalName string }
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return nil, false, fmt.Errorf("read the columns of %s: %w", logical, err)
	}
	out := make(map[string]bool, len(page.Value))
	for _, a := range page.Value {
		out[strings.ToLower(a.LogicalName)] = true
	}
	return out, true, nil
}

func ensureKey(ctx context.Context, crm *dataverse.Client, logical string, cols []string) (bool, error) {
	resp, err := crm.Do(ctx, dataverse.Request{Method: http.MethodGet, Path: "EntityDefinitions(LogicalName='" + logical + "')/Keys"})
	if err != nil {
		return false, fmt.Errorf("read the keys of %s: %w", logical, err)
	}
	var page struct {
		Value []struct{ KeyAttributes []string }
	}
	if err := json.Unmarshal(resp.Body, &page); err != nil {
		return false, fmt.Errorf("read the keys of %s: %w", logical, err)
	}
	want := strings.Join(cols, ",")
	for _, k := range page.Value {
		if strings.Join(k.KeyAttributes, ",") == want {
			return false, nil
		}
	}
	body := map[string]any{"SchemaName": logical + "_" + strings.Join(cols, "_") + "_key", "DisplayName": lbl("coupler key"), "KeyAttributes": cols}
	if err := postJSON(ctx, crm, "EntityDefinitions(LogicalName='"+logical+"')/Keys", body); err != nil {
		return false, fmt.Errorf("create the key %s on %s: %w", want, logical, err)
	}
	return true, nil
}

// ensureRoles creates the two integration roles in the root business unit
// when the CRM lacks them (the solution ships them).
func ensureRoles(ctx context.Context, crm *dataverse.Client) ([]SolutionChange, error) {
	var changes []SolutionChange
	for _, r := range []struct{ id, name string }{
		{RoleIntegrationAdministrator, "Integration Administrator"},
		{RoleIntegrationUser, "Integration User"},
	} {
		_, err := crm.Retrieve(ctx, "roles", dataverse.ID(r.id), "roleid")
		if err == nil {
			continue
		}
		if !errors.Is(err, dataverse.ErrNotFound) {
			return changes, fmt.Errorf("look for the %s role: %w", r.name, err)
		}
		bu, err := rootBusinessUnit(ctx, crm)
		if err != nil {
			return changes, err
		}
		body := map[string]any{"roleid": r.id, "name": r.name, "businessunitid@odata.bind": "/businessunits(" + bu + ")"}
		if _, err := crm.Create(ctx, "roles", body); err != nil {
			return changes, fmt.Errorf("create the %s role: %w", r.name, err)
		}
		changes = append(changes, SolutionChange{"role", r.name})
	}
	return changes, nil
}

func rootBusinessUnit(ctx context.Context, crm *dataverse.Client) (string, error) {
	for rec, err := range crm.All(ctx, "businessunits", dataverse.Query{Select: []string{"businessunitid"}, Filter: "_parentbusinessunitid_value eq null"}) {
		if err != nil {
			return "", fmt.Errorf("find the root business unit: %w", err)
		}
		return rec.String("businessunitid"), nil
	}
	return "", errors.New("the CRM has no root business unit")
}

// missingComponents lists what of the solution the CRM lacks (empty = all there).
func missingComponents(ctx context.Context, crm *dataverse.Client) ([]string, error) {
	var missing []string
	for _, t := range solutionTables() {
		logical := strings.ToLower(t.schema)
		cols, exists, err := tableColumns(ctx, crm, logical)
		if err != nil {
			return nil, err
		}
		if !exists {
			missing = append(missing, "table "+logical)
			continue
		}
		for _, c := range t.cols {
			if !cols[strings.ToLower(c.schema)] {
				missing = append(missing, "column "+logical+"."+strings.ToLower(c.schema))
			}
		}
	}
	for _, logical := range LinkTables {
		cols, _, err := tableColumns(ctx, crm, logical)
		if err != nil {
			return nil, err
		}
		if !cols[ColERPLink] {
			missing = append(missing, "column "+logical+"."+ColERPLink)
		}
	}
	return missing, nil
}

// PutConnectionRow writes the connection's ERP web client URL and company
// to its row of the solution's connection table (created on first use).
func PutConnectionRow(ctx context.Context, crm *dataverse.Client, name, webClientURL, company string) error {
	set, err := EntitySetName(ctx, crm, ConnectionTable)
	if err != nil {
		return err
	}
	lit, err := odata.Literal(name)
	if err != nil {
		return err
	}
	body := map[string]any{ColWebClientURL: webClientURL, ColERPCompany: company}
	for rec, err := range crm.All(ctx, set, dataverse.Query{Select: []string{ConnectionTable + "id"}, Filter: ColConnectionName + " eq " + lit}) {
		if err != nil {
			return fmt.Errorf("read the CRM's %s row %q: %w", ConnectionTable, name, err)
		}
		if err := crm.Update(ctx, set, dataverse.ID(rec.String(ConnectionTable+"id")), body, ""); err != nil {
			return fmt.Errorf("update the CRM's %s row %q: %w", ConnectionTable, name, err)
		}
		return nil
	}
	body[ColConnectionName] = name
	if _, err := crm.Create(ctx, set, body); err != nil {
		return fmt.Errorf("create the CRM's %s row %q: %w", ConnectionTable, name, err)
	}
	return nil
}

// EntitySetName reads a table's Web API collection name from its metadata
// (custom tables' plural is the CRM's choice, not ours).
func EntitySetName(ctx context.Context, crm *dataverse.Client, logical string) (string, error) {
	resp, err := crm.Do(ctx, dataverse.Request{Method: http.MethodGet, Path: "EntityDefinitions(LogicalName='" + logical + "')",
		Query: url.Values{"$select": {"EntitySetName"}}})
	if err != nil {
		if errors.Is(err, dataverse.ErrNotFound) {
			return "", fmt.Errorf("the CRM has no %s table: run `coupler connection import-solution`", logical)
		}
		return "", fmt.Errorf("read the definition of %s: %w", logical, err)
	}
	var d struct{ EntitySetName string }
	if err := json.Unmarshal(resp.Body, &d); err != nil || d.EntitySetName == "" {
		return "", fmt.Errorf("the definition of %s has no EntitySetName", logical)
	}
	return d.EntitySetName, nil
}
