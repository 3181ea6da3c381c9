package dataverse

// The built-in tables, as data. Names, types, access and option values follow
// reference/dataverse-tables.md (taken from Microsoft's entity reference pages).

// tb builds a Table fluently; the methods append columns in the order the API lists them.
type tb struct{ t *Table }

func newTable(logical, set, key, primary string, typeCode int, ownership string) *tb {
	t := &Table{Logical: logical, Set: set, Key: key, PrimaryName: primary, TypeCode: typeCode,
		Ownership: ownership, Collections: map[string]collectionNav{}}
	b := &tb{t}
	b.add(&Column{Name: key, Type: tGUID, Access: accCreate, Index: true})
	return b
}

func (b *tb) add(c *Column) *tb {
	if c.Type == tLookup && len(c.Nav) == 0 {
		c.Nav = make([]string, len(c.Targets))
	}
	b.t.addColumn(c)
	return b
}

func (b *tb) str(name string, max int, acc access) *tb {
	return b.add(&Column{Name: name, Type: tString, MaxLen: max, Access: acc})
}
func (b *tb) strs(max int, names ...string) *tb {
	for _, n := range names {
		b.str(n, max, accCU)
	}
	return b
}
func (b *tb) memo(name string, max int) *tb {
	return b.add(&Column{Name: name, Type: tMemo, MaxLen: max, Access: accCU})
}
func (b *tb) typed(t colType, acc access, names ...string) *tb {
	for _, n := range names {
		b.add(&Column{Name: n, Type: t, Access: acc})
	}
	return b
}
func (b *tb) pick(name string, opts map[int]string) *tb {
	return b.add(&Column{Name: name, Type: tPicklist, Access: accCU, Options: opts})
}

// lookup adds a single-target lookup whose navigation property is the column name.
// Writable lookups are indexed (child records of a parent, match by reference), except the
// currency, whose few values would make postings of every row.
func (b *tb) lookup(name, target string, acc access) *tb {
	index := acc != accRead && target != "transactioncurrency"
	return b.add(&Column{Name: name, Type: tLookup, Access: acc, Targets: []string{target}, Index: index})
}

// poly adds a multi-target lookup with one navigation property per target (name_target).
func (b *tb) poly(name string, acc access, targets ...string) *tb {
	nav := make([]string, len(targets))
	for i, t := range targets {
		nav[i] = name + "_" + t
	}
	return b.add(&Column{Name: name, Type: tLookup, Access: acc, Targets: targets, Nav: nav, Index: true})
}

func (b *tb) indexed(names ...string) *tb {
	for _, n := range names {
		b.t.byName[n].Index = true
	}
	return b
}

// states sets the state model: states[state] = (label, default status), statuses[status] = (label, state).
func (b *tb) states(def int, states map[int]stateInfo, statuses map[int]statusInfo) *tb {
	b.t.States, b.t.Statuses, b.t.DefaultState = states, statuses, def
	so := map[int]string{}
	for k, v := range states {
		so[k] = v.Label
	}
	su := map[int]string{}
	for k, v := range statuses {
		su[k] = v.Label
	}
	b.add(&Column{Name: "statecode", Type: tState, Access: accCU, Options: so})
	b.add(&Column{Name: "statuscode", Type: tStatus, Access: accCU, Options: su})
	return b
}

func (b *tb) activeInactive() *tb {
	return b.states(0, map[int]stateInfo{0: {"Active", 1}, 1: {"Inactive", 2}},
		map[int]statusInfo{1: {"Active", 0}, 2: {"Inactive", 1}})
}

func (b *tb) currency() *tb {
	b.lookup("transactioncurrencyid", "transactioncurrency", accCU)
	b.add(&Column{Name: "exchangerate", Type: tDecimal, Access: accRead})
	return b
}

// system adds the columns every table has, plus the ownership columns.
func (b *tb) system() *tb {
	b.typed(tDateTime, accRead, "createdon", "modifiedon")
	b.add(&Column{Name: "createdby", Type: tLookup, Targets: []string{"systemuser"}, Access: accRead})
	b.add(&Column{Name: "modifiedby", Type: tLookup, Targets: []string{"systemuser"}, Access: accRead})
	b.add(&Column{Name: "createdonbehalfby", Type: tLookup, Targets: []string{"systemuser"}, Access: accRead})
	b.add(&Column{Name: "modifiedonbehalfby", Type: tLookup, Targets: []string{"systemuser"}, Access: accRead})
	b.typed(tBigInt, accRead, "versionnumber")
	b.typed(tInt, accCreate, "importsequencenumber")
	b.typed(tDateTime, accCreate, "overriddencreatedon")
	switch b.t.Ownership {
	case "UserOwned", "BusinessOwned":
		if b.t.Ownership == "UserOwned" {
			b.add(&Column{Name: "ownerid", Type: tLookup, Targets: []string{"systemuser", "team"}, Nav: []string{"ownerid", "ownerid"}, Access: accCU})
			b.add(&Column{Name: "owninguser", Type: tLookup, Targets: []string{"systemuser"}, Access: accRead})
			b.add(&Column{Name: "owningteam", Type: tLookup, Targets: []string{"team"}, Access: accRead})
		}
		b.add(&Column{Name: "owningbusinessunit", Type: tLookup, Targets: []string{"businessunit"}, Access: accRead})
	case "OrganizationOwned":
		b.add(&Column{Name: "organizationid", Type: tLookup, Targets: []string{"organization"}, Access: accRead})
	}
	return b
}

func (b *tb) collection(name, child, column string) *tb {
	b.t.Collections[name] = collectionNav{Child: child, Column: column}
	return b
}

func (b *tb) address(prefix string) *tb {
	b.str(prefix+"_name", 200, accCU)
	b.strs(250, prefix+"_line1", prefix+"_line2", prefix+"_line3")
	b.strs(80, prefix+"_city", prefix+"_country")
	b.strs(50, prefix+"_stateorprovince", prefix+"_county")
	b.strs(20, prefix+"_postalcode", prefix+"_postofficebox")
	b.strs(50, prefix+"_telephone1", prefix+"_telephone2", prefix+"_telephone3", prefix+"_fax")
	b.str(prefix+"_primarycontactname", 100, accCU)
	b.pick(prefix+"_addresstypecode", map[int]string{1: "Bill To", 2: "Ship To", 3: "Primary", 4: "Other"})
	b.pick(prefix+"_shippingmethodcode", shippingMethods)
	b.pick(prefix+"_freighttermscode", map[int]string{1: "FOB", 2: "No Charge"})
	b.add(&Column{Name: prefix + "_composite", Type: tMemo, MaxLen: 1000, Access: accRead})
	return b
}

var (
	shippingMethods = map[int]string{1: "Airborne", 2: "DHL", 3: "FedEx", 4: "UPS", 5: "Postal Mail", 6: "Full Load", 7: "Will Call"}
	paymentTerms    = map[int]string{1: "Net 30", 2: "2% 10, Net 30", 3: "Net 45", 4: "Net 60"}
	customerTypes   = map[int]string{1: "Competitor", 2: "Consultant", 3: "Customer", 4: "Investor", 5: "Partner", 6: "Influencer",
		7: "Press", 8: "Prospect", 9: "Reseller", 10: "Supplier", 11: "Vendor", 12: "Other"}
	contactMethods = map[int]string{1: "Any", 2: "Email", 3: "Phone", 4: "Fax", 5: "Mail"}
	defaultValue   = map[int]string{1: "Default Value"}
)

func builtinTables() []*Table {
	var out []*Table
	add := func(b *tb) { out = append(out, b.t) }

	add(newTable("account", "accounts", "accountid", "name", 1, "UserOwned").
		str("name", 160, accCU).str("accountnumber", 20, accCU).
		lookup("parentaccountid", "account", accCU).lookup("primarycontactid", "contact", accCU).
		lookup("defaultpricelevelid", "pricelevel", accCU).
		strs(100, "emailaddress1", "emailaddress2", "emailaddress3").
		strs(50, "telephone1", "telephone2", "telephone3", "fax").str("websiteurl", 200, accCU).
		memo("description", 2000).address("address1").address("address2").
		typed(tMoney, accCU, "creditlimit", "revenue").typed(tBool, accCU, "creditonhold").
		pick("paymenttermscode", paymentTerms).pick("customertypecode", customerTypes).
		pick("preferredcontactmethodcode", contactMethods).pick("shippingmethodcode", shippingMethods).
		typed(tInt, accCU, "numberofemployees").currency().
		indexed("name", "accountnumber", "emailaddress1").activeInactive().system().
		collection("contact_customer_accounts", "contact", "parentcustomerid").
		collection("Account_Annotation", "annotation", "objectid").collection("account_Posts", "post", "regardingobjectid"))

	add(newTable("contact", "contacts", "contactid", "fullname", 2, "UserOwned").
		strs(50, "firstname", "lastname", "middlename").str("fullname", 160, accRead).
		poly("parentcustomerid", accCU, "account", "contact").lookup("accountid", "account", accRead).
		str("salutation", 100, accCU).str("suffix", 10, accCU).strs(100, "jobtitle", "department").
		strs(100, "emailaddress1", "emailaddress2", "emailaddress3").
		strs(50, "telephone1", "telephone2", "mobilephone", "fax", "company", "pager").str("websiteurl", 200, accCU).
		typed(tDateOnly, accCU, "birthdate").address("address1").address("address2").address("address3").
		typed(tMoney, accCU, "creditlimit").typed(tBool, accCU, "creditonhold", "isbackofficecustomer").
		pick("paymenttermscode", paymentTerms).pick("preferredcontactmethodcode", contactMethods).
		memo("description", 2000).currency().indexed("emailaddress1").
		activeInactive().system())

	add(newTable("product", "products", "productid", "name", 1024, "OrganizationOwned").
		str("name", 100, accCU).str("productnumber", 100, accCU).
		lookup("defaultuomscheduleid", "uomschedule", accCU).lookup("defaultuomid", "uom", accCU).
		typed(tInt, accCU, "quantitydecimal").lookup("pricelevelid", "pricelevel", accCU).
		typed(tMoney, accCU, "price", "currentcost", "standardcost").
		pick("productstructure", map[int]string{1: "Product", 2: "Product Family", 3: "Product Bundle"}).
		pick("producttypecode", map[int]string{1: "Sales Inventory", 2: "Miscellaneous Charges", 3: "Services", 4: "Flat Fees"}).
		lookup("parentproductid", "product", accCU).memo("description", 2000).
		typed(tDecimal, accCU, "quantityonhand", "stockweight", "stockvolume").
		typed(tDateOnly, accCU, "validfromdate", "validtodate").
		strs(100, "vendorid", "vendorname", "vendorpartnumber", "suppliername").currency().
		indexed("name", "productnumber").
		states(2, map[int]stateInfo{0: {"Active", 1}, 1: {"Retired", 2}, 2: {"Draft", 0}, 3: {"Under Revision", 3}},
			map[int]statusInfo{0: {"Draft", 2}, 1: {"Active", 0}, 2: {"Retired", 1}, 3: {"Under Revision", 3}}).system().
		collection("product_price_levels", "productpricelevel", "productid"))

	add(newTable("systemuser", "systemusers", "systemuserid", "fullname", 8, "BusinessOwned").
		str("domainname", 1024, accCU).str("internalemailaddress", 100, accCU).
		strs(256, "firstname", "lastname").str("fullname", 200, accRead).
		lookup("businessunitid", "businessunit", accCU).typed(tBool, accUpdate, "isdisabled").
		typed(tBool, accCU, "islicensed", "isintegrationuser", "setupuser").
		pick("accessmode", map[int]string{0: "Read-Write", 1: "Administrative", 2: "Read", 3: "Support User", 4: "Non-interactive", 5: "Delegated Admin"}).
		typed(tGUID, accRead, "azureactivedirectoryobjectid").typed(tGUID, accCU, "applicationid").
		pick("invitestatuscode", map[int]string{0: "Invitation Not Sent", 1: "Invited", 2: "Invitation Near Expired", 3: "Invitation Expired",
			4: "Invitation Accepted", 5: "Invitation Rejected", 6: "Invitation Revoked"}).
		str("title", 128, accCU).str("jobtitle", 100, accCU).str("mobilephone", 64, accCU).str("personalemailaddress", 100, accCU).
		lookup("parentsystemuserid", "systemuser", accCU).currency().
		indexed("domainname", "internalemailaddress", "fullname", "applicationid", "azureactivedirectoryobjectid").system())

	add(newTable("role", "roles", "roleid", "name", 1036, "BusinessOwned").
		str("name", 100, accCU).lookup("businessunitid", "businessunit", accCU).
		str("description", 2000, accCU).str("appliesto", 2000, accCU).
		pick("isinherited", map[int]string{0: "Team privileges only", 1: "Direct User (Basic) access level and Team privileges"}).
		typed(tBool, accCU, "issytemgenerated").lookup("parentroleid", "role", accRead).lookup("parentrootroleid", "role", accRead).
		typed(tGUID, accRead, "roletemplateid").indexed("name").system())

	add(newTable("businessunit", "businessunits", "businessunitid", "name", 10, "BusinessOwned").
		str("name", 160, accCU).lookup("parentbusinessunitid", "businessunit", accCU).typed(tBool, accCU, "isdisabled").
		str("disabledreason", 500, accRead).strs(100, "divisionname", "costcenter", "emailaddress").
		typed(tDouble, accCU, "creditlimit").currency().system())

	add(newTable("organization", "organizations", "organizationid", "name", 1019, "None").
		str("name", 160, accCU).lookup("basecurrencyid", "transactioncurrency", accCreate).
		typed(tInt, accCU, "currencydecimalprecision", "pricingdecimalprecision").str("currencysymbol", 13, accCU).
		str("basecurrencysymbol", 5, accRead).typed(tInt, accRead, "basecurrencyprecision").system())

	add(newTable("team", "teams", "teamid", "name", 9, "BusinessOwned").
		str("name", 160, accCU).lookup("businessunitid", "businessunit", accCU).
		pick("teamtype", map[int]string{0: "Owner", 1: "Access", 2: "Security Group", 3: "Office Group"}).
		typed(tBool, accRead, "isdefault").lookup("administratorid", "systemuser", accCU).memo("description", 2000).
		typed(tGUID, accCU, "azureactivedirectoryobjectid").system())

	add(newTable("transactioncurrency", "transactioncurrencies", "transactioncurrencyid", "currencyname", 9105, "OrganizationOwned").
		str("isocurrencycode", 5, accCU).str("currencyname", 100, accCU).str("currencysymbol", 10, accCU).
		typed(tInt, accCU, "currencyprecision").typed(tDecimal, accCU, "exchangerate").
		pick("currencytype", map[int]string{0: "System", 1: "Custom"}).indexed("isocurrencycode").activeInactive().system())

	add(newTable("uomschedule", "uomschedules", "uomscheduleid", "name", 1056, "OrganizationOwned").
		str("name", 200, accCU).str("baseuomname", 100, accCU).memo("description", 2000).indexed("name").activeInactive().system().
		collection("unit_of_measure_schedule_conversions", "uom", "uomscheduleid"))

	add(newTable("uom", "uoms", "uomid", "name", 1055, "OrganizationOwned").
		str("name", 100, accCU).lookup("uomscheduleid", "uomschedule", accCU).lookup("baseuom", "uom", accCU).
		typed(tDecimal, accCU, "quantity").typed(tBool, accRead, "isschedulebaseuom").indexed("name").system())

	add(newTable("pricelevel", "pricelevels", "pricelevelid", "name", 1022, "OrganizationOwned").
		str("name", 100, accCU).memo("description", 2000).typed(tDateOnly, accCU, "begindate", "enddate").
		pick("freighttermscode", defaultValue).pick("paymentmethodcode", defaultValue).pick("shippingmethodcode", defaultValue).
		currency().indexed("name").
		states(0, map[int]stateInfo{0: {"Active", 100001}, 1: {"Inactive", 100002}},
			map[int]statusInfo{100001: {"Active", 0}, 100002: {"Inactive", 1}}).system().
		collection("price_level_product_price_levels", "productpricelevel", "pricelevelid"))

	add(newTable("productpricelevel", "productpricelevels", "productpricelevelid", "productidname", 1026, "OrganizationOwned").
		lookup("pricelevelid", "pricelevel", accCU).lookup("productid", "product", accCU).
		lookup("uomid", "uom", accCU).lookup("uomscheduleid", "uomschedule", accCU).
		str("productidname", 100, accRead).str("productnumber", 100, accRead).
		typed(tMoney, accCU, "amount").typed(tDecimal, accCU, "percentage").
		pick("pricingmethodcode", map[int]string{1: "Currency Amount", 2: "Percent of List", 3: "Percent Markup - Current Cost",
			4: "Percent Margin - Current Cost", 5: "Percent Markup - Standard Cost", 6: "Percent Margin - Standard Cost"}).
		pick("quantitysellingcode", map[int]string{1: "No Control", 2: "Whole", 3: "Whole and Fractional"}).
		pick("roundingpolicycode", map[int]string{1: "None", 2: "Up", 3: "Down", 4: "To Nearest"}).
		pick("roundingoptioncode", map[int]string{1: "Ends in", 2: "Multiple of"}).typed(tMoney, accCU, "roundingoptionamount").
		currency().system())

	add(salesDoc(newTable("opportunity", "opportunities", "opportunityid", "name", 3, "UserOwned"), "").
		lookup("parentaccountid", "account", accCU).lookup("parentcontactid", "contact", accCU).
		typed(tMoney, accCU, "estimatedvalue", "actualvalue", "budgetamount").
		typed(tDateOnly, accCU, "estimatedclosedate", "actualclosedate", "finaldecisiondate").
		typed(tInt, accCU, "closeprobability").typed(tBool, accCU, "isrevenuesystemcalculated").
		pick("opportunityratingcode", map[int]string{1: "Hot", 2: "Warm", 3: "Cold"}).
		pick("salesstage", map[int]string{0: "Qualify", 1: "Develop", 2: "Propose", 3: "Close"}).
		states(0, map[int]stateInfo{0: {"Open", 1}, 1: {"Won", 3}, 2: {"Lost", 4}},
			map[int]statusInfo{1: {"In Progress", 0}, 2: {"On Hold", 0}, 3: {"Won", 1}, 4: {"Canceled", 2}, 5: {"Out-Sold", 2}}).system().
		collection("opportunity_quotes", "quote", "opportunityid").collection("opportunity_sales_orders", "salesorder", "opportunityid").
		collection("opportunity_invoices", "invoice", "opportunityid"))

	add(salesDoc(newTable("quote", "quotes", "quoteid", "name", 1084, "UserOwned"), "Q").
		str("quotenumber", 100, accCU).typed(tInt, accRead, "revisionnumber").
		pick("freighttermscode", map[int]string{1: "FOB", 2: "No Charge"}).typed(tDateOnly, accCU, "requestdeliveryby", "effectivefrom", "effectiveto", "expireson", "closedon").
		str("shipto_contactname", 150, accCU).str("billto_contactname", 150, accCU).
		pick("quotecreationmethod", map[int]string{776160000: "Unknown", 776160001: "Revision"}).indexed("quotenumber").
		states(0, map[int]stateInfo{0: {"Draft", 1}, 1: {"Active", 2}, 2: {"Won", 4}, 3: {"Closed", 7}},
			map[int]statusInfo{1: {"In Progress", 0}, 2: {"In Progress", 1}, 3: {"Open", 1}, 4: {"Won", 2}, 5: {"Lost", 3}, 6: {"Canceled", 3}, 7: {"Revised", 3}}).system().
		collection("quote_details", "quotedetail", "quoteid").collection("Quote_Annotation", "annotation", "objectid"))

	add(salesDoc(newTable("salesorder", "salesorders", "salesorderid", "name", 1088, "UserOwned"), "O").
		str("ordernumber", 100, accCU).lookup("quoteid", "quote", accCU).typed(tBool, accCU, "ispricelocked").
		pick("freighttermscode", map[int]string{1: "FOB", 2: "No Charge"}).pick("prioritycode", defaultValue).
		typed(tDateOnly, accCU, "requestdeliveryby", "datefulfilled", "submitdate", "lastbackofficesubmit").
		str("shipto_contactname", 150, accCU).str("billto_contactname", 150, accCU).
		pick("ordercreationmethod", map[int]string{776160000: "Unknown", 776160001: "Win Quote"}).indexed("ordernumber").
		states(0, map[int]stateInfo{0: {"Active", 1}, 1: {"Submitted", 3}, 2: {"Canceled", 4}, 3: {"Fulfilled", 100001}, 4: {"Invoiced", 100003}},
			map[int]statusInfo{1: {"New", 0}, 2: {"Pending", 0}, 3: {"In Progress", 1}, 4: {"No Money", 2}, 100001: {"Complete", 3}, 100002: {"Partial", 3}, 100003: {"Invoiced", 4}}).system().
		collection("order_details", "salesorderdetail", "salesorderid").collection("order_invoices", "invoice", "salesorderid").
		collection("SalesOrder_Annotation", "annotation", "objectid"))

	add(salesDoc(newTable("invoice", "invoices", "invoiceid", "name", 1090, "UserOwned"), "I").
		str("invoicenumber", 100, accCU).lookup("salesorderid", "salesorder", accCU).typed(tBool, accCU, "ispricelocked").
		pick("prioritycode", defaultValue).typed(tDateOnly, accCU, "lastbackofficesubmit", "datedelivered", "duedate").indexed("invoicenumber").
		states(0, map[int]stateInfo{0: {"Active", 1}, 1: {"Closed (deprecated)", 100003}, 2: {"Paid", 100001}, 3: {"Canceled", 100003}},
			map[int]statusInfo{1: {"New", 0}, 2: {"Partially Shipped", 0}, 4: {"Billed", 0}, 5: {"Booked (applies to services)", 0},
				6: {"Installed (applies to services)", 0}, 3: {"Canceled (deprecated)", 1}, 7: {"Paid in Full (deprecated)", 1},
				100001: {"Complete", 2}, 100002: {"Partial", 2}, 100003: {"Canceled", 3}}).system().
		collection("invoice_details", "invoicedetail", "invoiceid").collection("Invoice_Annotation", "annotation", "objectid"))

	add(lineItem(newTable("quotedetail", "quotedetails", "quotedetailid", "quotedetailname", 1085, "UserOwned"), "quote", 500).
		typed(tDateOnly, accCU, "requestdeliveryby").system())
	add(lineItem(newTable("salesorderdetail", "salesorderdetails", "salesorderdetailid", "salesorderdetailname", 1089, "UserOwned"), "salesorder", 500).
		typed(tDecimal, accCU, "quantitybackordered", "quantitycancelled", "quantityshipped").typed(tDateOnly, accCU, "requestdeliveryby").
		add(&Column{Name: "quotedetailid", Type: tLookup, Targets: []string{"quotedetail"}, Nav: []string{"QuoteDetailId"}, Access: accCU}).
		pick("skippricecalculation", map[int]string{0: "DoPriceCalcAlways", 1: "SkipPriceCalcOnCreate", 2: "SkipPriceCalcOnUpdate", 3: "SkipPriceCalcOnUpSert"}).system())
	add(lineItem(newTable("invoicedetail", "invoicedetails", "invoicedetailid", "invoicedetailname", 1091, "UserOwned"), "invoice", 850).
		typed(tDecimal, accCU, "quantitybackordered", "quantitycancelled", "quantityshipped").typed(tDateOnly, accCU, "actualdeliveryon").
		add(&Column{Name: "salesorderdetailid", Type: tLookup, Targets: []string{"salesorderdetail"}, Nav: []string{"SalesOrderDetailId"}, Access: accCU}).system())

	add(newTable("annotation", "annotations", "annotationid", "subject", 5, "UserOwned").
		poly("objectid", accCU, "account", "contact", "salesorder", "quote", "invoice", "opportunity", "product").
		add(&Column{Name: "objecttypecode", Type: tEntityName, Access: accCU}).
		str("subject", 500, accCU).memo("notetext", 100000).typed(tBool, accCU, "isdocument").
		str("filename", 255, accCU).str("mimetype", 256, accCU).add(&Column{Name: "documentbody", Type: tMemo, MaxLen: 1073741823, Access: accCU}).
		typed(tInt, accRead, "filesize").system())

	add(newTable("post", "posts", "postid", "text", 8000, "OrganizationOwned").
		poly("regardingobjectid", accCU, "account", "contact", "opportunity", "systemuser", "salesorder").
		str("text", 2000, accCU).memo("largetext", 1048576).
		pick("source", map[int]string{1: "Auto Post", 2: "Manual Post", 3: "ActionHub Post"}).
		pick("type", map[int]string{1: "Check-in", 2: "Idea", 3: "News", 4: "Private Message", 5: "Question", 6: "Re-post", 7: "Status"}).system())
	add(newTable("solution", "solutions", "solutionid", "friendlyname", 7100, "OrganizationOwned").
		str("uniquename", 65, accCU).str("friendlyname", 256, accCU).str("version", 256, accCU).
		typed(tBool, accCU, "ismanaged").typed(tDateTime, accRead, "installedon").memo("description", 2000).
		indexed("uniquename").system())
	return out
}

// salesDoc adds the columns quotes, orders, invoices and opportunities share.
func salesDoc(b *tb, kind string) *tb {
	b.str("name", 300, accCU).poly("customerid", accCU, "account", "contact").
		lookup("accountid", "account", accRead).lookup("contactid", "contact", accRead).
		lookup("pricelevelid", "pricelevel", accCU).currency().memo("description", 2000).
		typed(tMoney, accCU, "discountamount", "freightamount", "totallineitemamount", "totallineitemdiscountamount",
			"totaldiscountamount", "totalamountlessfreight", "totaltax", "totalamount").
		typed(tDecimal, accCU, "discountpercentage")
	if kind == "" {
		return b
	}
	b.lookup("opportunityid", "opportunity", accCU).
		pick("paymenttermscode", paymentTerms).pick("shippingmethodcode", shippingMethods).
		typed(tBool, accCU, "willcall").str("emailaddress", 100, accCU).
		pick("pricingerrorcode", map[int]string{0: "None"}).pick("shipto_freighttermscode", defaultValue)
	for _, p := range []string{"billto", "shipto"} {
		b.str(p+"_name", 200, accCU).strs(250, p+"_line1", p+"_line2", p+"_line3").strs(80, p+"_city", p+"_country").
			str(p+"_stateorprovince", 50, accCU).str(p+"_postalcode", 20, accCU).strs(50, p+"_telephone", p+"_fax").
			add(&Column{Name: p + "_composite", Type: tMemo, MaxLen: 1000, Access: accRead})
	}
	if kind == "Q" || kind == "O" {
		b.lookup("campaignid", "campaign", accCU)
	}
	return b
}

// lineItem adds the columns of quote, order and invoice lines.
func lineItem(b *tb, parent string, nameLen int) *tb {
	b.lookup(parent+"id", parent, accCU).str(b.t.PrimaryName, nameLen, accCU).
		lookup("productid", "product", accCU).typed(tBool, accCU, "isproductoverridden", "ispriceoverridden", "willcall").
		str("productdescription", nameLen, accCU).str("productname", nameLen, accRead).lookup("uomid", "uom", accCU).
		typed(tDecimal, accCU, "quantity").
		typed(tMoney, accCU, "priceperunit", "baseamount", "extendedamount", "manualdiscountamount", "tax").
		typed(tMoney, accRead, "volumediscountamount").typed(tInt, accCU, "lineitemnumber", "sequencenumber").
		memo("description", 2000).str("productnumber", 100, accRead).
		pick("producttypecode", map[int]string{1: "Product", 2: "Bundle", 3: "Required Bundle Product", 4: "Optional Bundle Product", 5: "Project-based Service"}).
		pick("propertyconfigurationstatus", map[int]string{0: "Edit", 1: "Rectify", 2: "Not Configured"}).
		lookup("salesrepid", "systemuser", accCU).currency()
	b.add(&Column{Name: parent + "statecode", Type: tPicklist, Access: accRead})
	return b
}
