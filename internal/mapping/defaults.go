package mapping

// The default set: Business Central's default integration table mappings
// (anchor §3) expressed with the field names of the BC API v2.0 and the
// Dataverse Web API. Where API v2.0 lacks what BC's own mapping uses, the
// mapping says so in its Note instead of pretending.

// Names of the default mappings, in the order BC synchronises them.
const (
	Salespeople     = "SALESPEOPLE"
	Currency        = "CURRENCY"
	UnitOfMeasure   = "UNIT OF MEASURE"
	PaymentTerms    = "PAYMENT TERMS"
	ShipmentMethod  = "SHIPMENT METHOD"
	ShippingAgent   = "SHIPPING AGENT"
	Customer        = "CUSTOMER"
	Vendor          = "VENDOR"
	Contact         = "CONTACT"
	ItemProduct     = "ITEM-PRODUCT"
	PriceList       = "PRICE LIST"
	ProductPrice    = "ITEM-PRODPRICE"
	PostedInvoice   = "POSTEDSALESINV-INV"
	PostedInvLine   = "POSTEDSALESLINE-INV"
	Opportunity     = "OPPORTUNITY"
	SalesOrder      = "SALESORDER-ORDER"
	SalesOrderLine  = "SOLINE-ORDERDETAIL"
	BasePriceListID = "base" // id of the static ERP record behind PRICE LIST
)

// Defaults returns a fresh copy of the default mappings ("use default
// synchronisation setup").
func Defaults() []TableMapping {
	ms := []TableMapping{
		salespeople(), currency(), unitOfMeasure(),
		paymentTerms(), shipmentMethod(), shippingAgent(),
		customer(), vendor(), contact(),
		itemProduct(), priceList(), productPrice(),
		postedInvoice(), postedInvoiceLine(),
		opportunity(), salesOrder(), salesOrderLine(),
	}
	for i := range ms {
		m := &ms[i]
		if m.Interval == 0 {
			m.Interval = Duration(DefaultInterval)
		}
		if m.Conflict == "" {
			m.Conflict = ConflictFail
		}
		if m.Deletion == "" {
			m.Deletion = DeletionFail
		}
		if m.SkipAfter == 0 {
			m.SkipAfter = 2 // BC: skipped after two identical failures
		}
	}
	return ms
}

// Default returns one default mapping by name.
func Default(name string) (TableMapping, bool) {
	for _, m := range Defaults() {
		if m.Name == name {
			return m, true
		}
	}
	return TableMapping{}, false
}

func f(erp, crm string, d Direction) FieldMapping {
	return FieldMapping{ERPField: erp, CRMField: crm, Direction: d}
}

func constCRM(crm string, v any) FieldMapping {
	return FieldMapping{CRMField: crm, Direction: ToCRM, Constant: v}
}

func lookup(erp, crm string, d Direction, l Lookup) FieldMapping {
	return FieldMapping{ERPField: erp, CRMField: crm, Direction: d, Lookup: &l}
}

// ownerFromSalesperson sets the CRM owner from the ERP salesperson code
// (BC: Salesperson Code→ownerid, NotNull). An uncoupled salesperson fails
// the record with a message saying which one to couple.
func ownerFromSalesperson(erp string) FieldMapping {
	return lookup(erp, "ownerid", ToCRM, Lookup{Mapping: Salespeople, By: "code"})
}

func address(d Direction) []FieldMapping {
	return []FieldMapping{
		f("addressLine1", "address1_line1", d),
		f("addressLine2", "address1_line2", d),
		f("city", "address1_city", d),
		f("state", "address1_stateorprovince", d),
		f("country", "address1_country", d),
		f("postalCode", "address1_postalcode", d),
	}
}

func salespeople() TableMapping {
	return TableMapping{
		Name: Salespeople, ERPEntity: "salespeoplePurchasers", ERPCodeField: "code",
		CRMEntity: "systemuser", CRMEntitySet: "systemusers", CRMKey: "systemuserid",
		Direction:   FromCRM,
		CRMFilter:   "isdisabled ne true and islicensed eq true and isintegrationuser ne true",
		OnlyCoupled: true,
		Note:        "Salespeople are coupled to CRM users by e-mail (coupler match SALESPEOPLE); only coupled ones are updated from the CRM.",
		Fields: []FieldMapping{
			{ERPField: "email", CRMField: "internalemailaddress", Direction: FromCRM, MatchPriority: 1, Transform: "lower"},
			{ERPField: "displayName", CRMField: "fullname", Direction: FromCRM, Transform: "max50"},
			f("phoneNo", "mobilephone", FromCRM),
		},
	}
}

func currency() TableMapping {
	return TableMapping{
		Name: Currency, ERPEntity: "currencies", ERPCodeField: "code",
		CRMEntity: "transactioncurrency", CRMEntitySet: "transactioncurrencies", CRMKey: "transactioncurrencyid",
		Direction: ToCRM,
		Note:      "Coupled by ISO code, created when missing. API v2.0 exposes no exchange rates: a created currency starts at rate 1; maintain rates in the CRM.",
		Fields: []FieldMapping{
			{ERPField: "code", CRMField: "isocurrencycode", Direction: ToCRM, MatchPriority: 1, Required: true},
			{ERPField: "displayName", CRMField: "currencyname", Direction: ToCRM, Required: true},
			{ERPField: "symbol", CRMField: "currencysymbol", Direction: ToCRM, Transform: "symbol"},
			{ERPField: "amountDecimalPlaces", CRMField: "currencyprecision", Direction: ToCRM, Transform: "decimalplaces"},
			{CRMField: "exchangerate", Direction: ToCRM, Constant: 1, OnCreateOnly: true},
		},
	}
}

func unitOfMeasure() TableMapping {
	return TableMapping{
		Name: UnitOfMeasure, ERPEntity: "unitsOfMeasure", ERPCodeField: "code",
		CRMEntity: "uomschedule", CRMEntitySet: "uomschedules", CRMKey: "uomscheduleid",
		Direction: ToCRM,
		Note:      "As BC without unit groups: each ERP unit of measure becomes a CRM unit group whose base unit has the same name.",
		Fields: []FieldMapping{
			{ERPField: "code", CRMField: "name", Direction: ToCRM, MatchPriority: 1, Required: true},
			{ERPField: "code", CRMField: "baseuomname", Direction: ToCRM, OnCreateOnly: true},
			{ERPField: "displayName", CRMField: "description", Direction: ToCRM},
		},
	}
}

func paymentTerms() TableMapping {
	return TableMapping{
		Name: PaymentTerms, Kind: KindOption, ERPEntity: "paymentTerms", ERPCodeField: "code",
		CRMEntity: "account", CRMEntitySet: "accounts", CRMKey: "paymenttermscode",
		Direction: ToCRM,
		Note:      "Option mapping onto account.paymenttermscode (1 Net 30, 2 2% 10 Net 30, 3 Net 45, 4 Net 60). Codes without an option are listed as skipped in each run; the customer field is then left empty.",
		Options:   map[string]int{"30 DAYS": 1, "1M(8D)": 2, "60 DAYS": 4},
	}
}

func shipmentMethod() TableMapping {
	return TableMapping{
		Name: ShipmentMethod, Kind: KindOption, ERPEntity: "shipmentMethods", ERPCodeField: "code",
		CRMEntity: "account", CRMEntitySet: "accounts", CRMKey: "address1_freighttermscode",
		Direction: ToCRM,
		Note:      "Option mapping onto address1_freighttermscode (1 FOB, 2 No Charge).",
		Options:   map[string]int{"FOB": 1},
	}
}

func shippingAgent() TableMapping {
	return TableMapping{
		Name: ShippingAgent, Kind: KindOption, ERPEntity: "shippingAgents", ERPCodeField: "code",
		CRMEntity: "account", CRMEntitySet: "accounts", CRMKey: "address1_shippingmethodcode",
		Direction: ToCRM, Disabled: true,
		Note:    "Disabled: the BC API v2.0 exposes no shipping agents (no entity, no customer field). Kept so the option values are documented: DHL 2, FEDEX 3, UPS 4.",
		Options: map[string]int{"DHL": 2, "FEDEX": 3, "UPS": 4},
	}
}

func customer() TableMapping {
	fields := []FieldMapping{
		{ERPField: "displayName", CRMField: "name", Direction: Bidirectional, Required: true, MatchPriority: 2},
		{ERPField: "number", CRMField: "accountnumber", Direction: ToCRM, MatchPriority: 1},
	}
	fields = append(fields, address(Bidirectional)...)
	fields = append(fields,
		f("phoneNumber", "telephone1", Bidirectional),
		f("email", "emailaddress1", Bidirectional),
		f("website", "websiteurl", Bidirectional),
		f("creditLimit", "creditlimit", ToCRM),
		lookup("currencyCode", "transactioncurrencyid", ToCRM, Lookup{Mapping: Currency, By: "code", Optional: true}),
		lookup("paymentTermsId", "paymenttermscode", Bidirectional, Lookup{Mapping: PaymentTerms, Optional: true}),
		lookup("shipmentMethodId", "address1_freighttermscode", Bidirectional, Lookup{Mapping: ShipmentMethod, Optional: true}),
		ownerFromSalesperson("salespersonCode"),
		constCRM("customertypecode", 3),
	)
	return TableMapping{
		Name: Customer, ERPEntity: "customers", ERPCodeField: "number",
		CRMEntity: "account", CRMEntitySet: "accounts", CRMKey: "accountid",
		Direction: Bidirectional, OnlyCoupled: true,
		CRMFilter: "statecode eq 0 and customertypecode eq 3",
		DependsOn: []string{Salespeople, Currency, PaymentTerms, ShipmentMethod},
		Note:      "BC also filters Blocked = ' '; the ERP filter is left to the user because blocked customers must still be updated once coupled.",
		Fields:    fields,
	}
}

func vendor() TableMapping {
	fields := []FieldMapping{
		{ERPField: "displayName", CRMField: "name", Direction: Bidirectional, Required: true, MatchPriority: 2},
		{ERPField: "number", CRMField: "accountnumber", Direction: ToCRM, MatchPriority: 1},
	}
	fields = append(fields, address(Bidirectional)...)
	fields = append(fields,
		f("phoneNumber", "telephone1", Bidirectional),
		f("email", "emailaddress1", Bidirectional),
		f("website", "websiteurl", Bidirectional),
		lookup("currencyCode", "transactioncurrencyid", ToCRM, Lookup{Mapping: Currency, By: "code", Optional: true}),
		lookup("paymentTermsId", "paymenttermscode", Bidirectional, Lookup{Mapping: PaymentTerms, Optional: true}),
		constCRM("customertypecode", 11),
	)
	return TableMapping{
		Name: Vendor, ERPEntity: "vendors", ERPCodeField: "number",
		CRMEntity: "account", CRMEntitySet: "accounts", CRMKey: "accountid",
		Direction: Bidirectional, OnlyCoupled: true,
		CRMFilter: "statecode eq 0 and customertypecode eq 11",
		DependsOn: []string{Currency, PaymentTerms},
		Fields:    fields,
	}
}

func contact() TableMapping {
	fields := []FieldMapping{
		{ERPField: "displayName", CRMField: "firstname", Direction: ToCRM, Transform: "firstname"},
		{ERPField: "displayName", CRMField: "lastname", Direction: ToCRM, Transform: "lastname", Required: true},
		f("displayName", "fullname", FromCRM),
		f("jobTitle", "jobtitle", Bidirectional),
		{ERPField: "email", CRMField: "emailaddress1", Direction: Bidirectional, MatchPriority: 1},
		f("phoneNumber", "telephone1", Bidirectional),
		f("mobilePhoneNumber", "mobilephone", Bidirectional),
		f("website", "websiteurl", Bidirectional),
		lookup("companyName", "parentcustomerid", ToCRM, Lookup{Mapping: Customer, By: "displayName", NavProperty: "parentcustomerid_account", Optional: true}),
	}
	fields = append(fields, address(Bidirectional)...)
	return TableMapping{
		Name: Contact, ERPEntity: "contacts", ERPCodeField: "number",
		CRMEntity: "contact", CRMEntitySet: "contacts", CRMKey: "contactid",
		Direction: Bidirectional, OnlyCoupled: true,
		ERPFilter: "type eq 'Person'",
		CRMFilter: "statecode eq 0",
		DependsOn: []string{Customer, Vendor},
		Note:      "API v2.0 contacts have one displayName (split into first name and surname) and name their company only by number/name; the parent account is found by the company name among coupled customers.",
		Fields:    fields,
	}
}

func itemProduct() TableMapping {
	return TableMapping{
		Name: ItemProduct, ERPEntity: "items", ERPCodeField: "number",
		CRMEntity: "product", CRMEntitySet: "products", CRMKey: "productid",
		Direction: Bidirectional, OnlyCoupled: true,
		ERPFilter: "blocked eq false",
		CRMFilter: "producttypecode eq 1",
		DependsOn: []string{UnitOfMeasure},
		Fields: []FieldMapping{
			{ERPField: "number", CRMField: "productnumber", Direction: ToCRM, MatchPriority: 1, Required: true},
			{ERPField: "displayName", CRMField: "name", Direction: Bidirectional, Required: true},
			f("unitPrice", "price", ToCRM),
			f("unitCost", "standardcost", ToCRM),
			f("unitCost", "currentcost", ToCRM),
			f("inventory", "quantityonhand", ToCRM),
			lookup("baseUnitOfMeasureId", "defaultuomscheduleid", ToCRM, Lookup{Mapping: UnitOfMeasure}),
			lookup("baseUnitOfMeasureId", "defaultuomid", ToCRM, Lookup{Mapping: UnitOfMeasure, Follow: "baseuom"}),
			{CRMField: "producttypecode", Direction: ToCRM, Constant: 1, OnCreateOnly: true},
			{CRMField: "productstructure", Direction: ToCRM, Constant: 1, OnCreateOnly: true},
			{CRMField: "quantitydecimal", Direction: ToCRM, Constant: 2, OnCreateOnly: true},
		},
	}
}

func priceList() TableMapping {
	return TableMapping{
		Name: PriceList, Kind: KindStatic, ERPEntity: "",
		CRMEntity: "pricelevel", CRMEntitySet: "pricelevels", CRMKey: "pricelevelid",
		Direction: ToCRM,
		Note:      "The BC API v2.0 exposes no price lists and no customer price groups, so the CRM gets one price list holding each item's unit price (ITEM-PRODPRICE).",
		Records:   []map[string]any{{"id": BasePriceListID, "name": "ERP base prices", "description": "Unit prices of the ERP items, kept by coupler"}},
		Fields: []FieldMapping{
			{ERPField: "name", CRMField: "name", Direction: ToCRM, MatchPriority: 1},
			f("description", "description", ToCRM),
		},
	}
}

func productPrice() TableMapping {
	return TableMapping{
		Name: ProductPrice, ERPEntity: "items",
		CRMEntity: "productpricelevel", CRMEntitySet: "productpricelevels", CRMKey: "productpricelevelid",
		Direction: ToCRM, OnlyCoupled: false,
		ERPFilter: "blocked eq false",
		DependsOn: []string{ItemProduct, PriceList},
		Note:      "One price per coupled item in the ERP base price list, from the item's unit price.",
		Fields: []FieldMapping{
			lookup("id", "productid", ToCRM, Lookup{Mapping: ItemProduct}),
			{CRMField: "pricelevelid", Direction: ToCRM, Constant: BasePriceListID, Lookup: &Lookup{Mapping: PriceList}},
			lookup("baseUnitOfMeasureId", "uomid", ToCRM, Lookup{Mapping: UnitOfMeasure, Follow: "baseuom"}),
			f("unitPrice", "amount", ToCRM),
			constCRM("pricingmethodcode", 1),
			{CRMField: "quantitysellingcode", Direction: ToCRM, Constant: 1, OnCreateOnly: true},
		},
	}
}

// documentHeader is the field list shared by invoices and orders.
func documentHeader() []FieldMapping {
	return []FieldMapping{
		lookup("customerId", "customerid", ToCRM, Lookup{Mapping: Customer, NavProperty: "customerid_account"}),
		lookup("currencyCode", "transactioncurrencyid", ToCRM, Lookup{Mapping: Currency, By: "code", Optional: true}),
		{CRMField: "pricelevelid", Direction: ToCRM, Constant: BasePriceListID, Lookup: &Lookup{Mapping: PriceList}},
		lookup("paymentTermsId", "paymenttermscode", ToCRM, Lookup{Mapping: PaymentTerms, Optional: true}),
		ownerFromSalesperson("salesperson"),
		f("shipToName", "shipto_name", ToCRM),
		f("shipToAddressLine1", "shipto_line1", ToCRM),
		f("shipToAddressLine2", "shipto_line2", ToCRM),
		f("shipToCity", "shipto_city", ToCRM),
		f("shipToState", "shipto_stateorprovince", ToCRM),
		f("shipToCountry", "shipto_country", ToCRM),
		f("shipToPostCode", "shipto_postalcode", ToCRM),
		f("billToName", "billto_name", ToCRM),
		f("billToAddressLine1", "billto_line1", ToCRM),
		f("billToAddressLine2", "billto_line2", ToCRM),
		f("billToCity", "billto_city", ToCRM),
		f("billToState", "billto_stateorprovince", ToCRM),
		f("billToCountry", "billto_country", ToCRM),
		f("billToPostCode", "billto_postalcode", ToCRM),
		f("discountAmount", "discountamount", ToCRM),
		f("totalAmountExcludingTax", "totalamountlessfreight", ToCRM),
		f("totalTaxAmount", "totaltax", ToCRM),
		f("totalAmountIncludingTax", "totalamount", ToCRM),
		f("email", "emailaddress", ToCRM),
	}
}

func postedInvoice() TableMapping {
	fields := []FieldMapping{
		{ERPField: "number", CRMField: "invoicenumber", Direction: ToCRM, MatchPriority: 1, OnCreateOnly: true},
		f("number", "name", ToCRM),
		{ERPField: "dueDate", CRMField: "duedate", Direction: ToCRM, Transform: "date"},
	}
	fields = append(fields, documentHeader()...)
	return TableMapping{
		Name: PostedInvoice, ERPEntity: "salesInvoices", ERPCodeField: "number",
		CRMEntity: "invoice", CRMEntitySet: "invoices", CRMKey: "invoiceid",
		Direction: ToCRM,
		ERPFilter: "status ne 'Draft' and status ne 'In_x0020_Review'",
		DependsOn: []string{Customer, ItemProduct, PriceList, Currency, PaymentTerms, Salespeople},
		Note:      "Posted invoices only (status Open, Paid, Canceled or Corrective).",
		Fields:    fields,
	}
}

// documentLine is the field list shared by invoice and order lines.
func documentLine(parentNav string) []FieldMapping {
	return []FieldMapping{
		lookup("documentId", parentNav, ToCRM, Lookup{Mapping: ""}), // parent: resolved by the engine
		lookup("itemId", "productid", ToCRM, Lookup{Mapping: ItemProduct, Optional: true}),
		lookup("unitOfMeasureId", "uomid", ToCRM, Lookup{Mapping: UnitOfMeasure, Follow: "baseuom", Optional: true}),
		f("description", "productdescription", ToCRM),
		{ERPField: "sequence", CRMField: "lineitemnumber", Direction: ToCRM, Transform: "lineno"},
		f("quantity", "quantity", ToCRM),
		f("unitPrice", "priceperunit", ToCRM),
		constCRM("ispriceoverridden", true),
		f("discountAmount", "manualdiscountamount", ToCRM),
		f("amountExcludingTax", "baseamount", ToCRM),
		f("amountIncludingTax", "extendedamount", ToCRM),
	}
}

func postedInvoiceLine() TableMapping {
	return TableMapping{
		Name: PostedInvLine, ERPEntity: "salesInvoiceLines",
		CRMEntity: "invoicedetail", CRMEntitySet: "invoicedetails", CRMKey: "invoicedetailid",
		Direction: ToCRM, Parent: PostedInvoice, ParentField: "documentId",
		ERPFilter: "lineType eq 'Item'",
		DependsOn: []string{PostedInvoice, ItemProduct, UnitOfMeasure},
		Fields:    withParent(documentLine("invoiceid"), PostedInvoice),
	}
}

func opportunity() TableMapping {
	return TableMapping{
		Name: Opportunity, ERPEntity: "opportunities",
		CRMEntity: "opportunity", CRMEntitySet: "opportunities", CRMKey: "opportunityid",
		Direction: Bidirectional, Disabled: true,
		CRMFilter: "statecode eq 0",
		DependsOn: []string{Customer, Contact},
		Note:      "Disabled: the BC API v2.0 has no opportunities entity. BC maps Description↔name, contact/account and estimates→; enable it against an API that exposes opportunities.",
		Fields: []FieldMapping{
			f("description", "name", Bidirectional),
			f("estimatedValue", "estimatedvalue", ToCRM),
			f("estimatedCloseDate", "estimatedclosedate", ToCRM),
		},
	}
}

func salesOrder() TableMapping {
	fields := []FieldMapping{
		{ERPField: "number", CRMField: "ordernumber", Direction: ToCRM, MatchPriority: 1, OnCreateOnly: true},
		f("number", "name", ToCRM),
		{ERPField: "requestedDeliveryDate", CRMField: "requestdeliveryby", Direction: ToCRM, Transform: "date"},
	}
	fields = append(fields, documentHeader()...)
	return TableMapping{
		Name: SalesOrder, ERPEntity: "salesOrders", ERPCodeField: "number",
		CRMEntity: "salesorder", CRMEntitySet: "salesorders", CRMKey: "salesorderid",
		Direction: ToCRM,
		ERPFilter: "status eq 'Open'",
		DependsOn: []string{Customer, ItemProduct, PriceList, Currency, PaymentTerms, Salespeople},
		Note:      "Released ERP orders (API status Open) to the CRM, as BC's legacy mapping; CRM orders become ERP orders through sales order integration.",
		Fields:    fields,
	}
}

func salesOrderLine() TableMapping {
	return TableMapping{
		Name: SalesOrderLine, ERPEntity: "salesOrderLines",
		CRMEntity: "salesorderdetail", CRMEntitySet: "salesorderdetails", CRMKey: "salesorderdetailid",
		Direction: ToCRM, Parent: SalesOrder, ParentField: "documentId",
		ERPFilter: "lineType eq 'Item'",
		Deletion:  DeletionUncouple,
		DependsOn: []string{SalesOrder, ItemProduct, UnitOfMeasure},
		Fields:    withParent(documentLine("salesorderid"), SalesOrder),
	}
}

func withParent(fs []FieldMapping, parent string) []FieldMapping {
	for i := range fs {
		if fs[i].Lookup != nil && fs[i].Lookup.Mapping == "" {
			fs[i].Lookup.Mapping = parent
			fs[i].Required = true
		}
	}
	return fs
}
