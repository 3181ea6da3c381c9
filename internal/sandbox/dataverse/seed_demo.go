package dataverse

import (
	"time"

	"github.com/google/uuid"
)

// The CRM side of the demo. The ERP side is Microsoft's Contoso/CRONUS dataset
// (reference/contoso-demo-data.md); here some accounts match ERP customers exactly (for
// match-based coupling), some differ in one field (conflicts), some exist only in the CRM.

type demoProduct struct {
	number, name string
	price, cost  float64
	state        int // 0 Active, 2 Draft
	kind         int // producttypecode
}

var demoProducts = []demoProduct{
	{"1896-S", "ATHENS Desk", 649.40, 506.60, 0, 1},
	{"1900-S", "PARIS Guest Chair, black", 125.10, 97.50, 0, 1},
	{"1906-S", "ATHENS Mobile Pedestal", 281.40, 219.50, 0, 1},
	{"1920-S", "ANTWERP Conference Table", 420.40, 328.00, 0, 1},
	{"1928-S", "AMSTERDAM Lamp", 35.60, 27.80, 0, 1},
	{"1936-S", "BERLIN Guest Chair, yellow", 129.00, 97.50, 0, 1}, // price differs from the ERP (125.10)
	{"1968-S", "MEXICO Swivel Chair, black", 123.30, 96.10, 0, 1},
	{"1996-S", "ATLANTA Whiteboard, base", 906.70, 707.20, 0, 1},
	{"2000-S", "SYDNEY Swivel Chair, green", 123.30, 96.10, 0, 1},
	{"CRM-SVC-01", "On-site assembly service", 75.00, 0, 0, 3},   // CRM only
	{"CRM-WAR-01", "Extended warranty, 3 years", 49.00, 0, 2, 3}, // CRM only, still Draft
}

type demoAccount struct {
	key, name, email, line1, line2, city, postcode, country, phone string
	kind                                                           int // customertypecode: 3 Customer, 11 Vendor
	terms                                                          int // paymenttermscode
	contactFirst, contactLast                                      string
}

var demoAccounts = []demoAccount{
	// Match ERP customers exactly (name, e-mail, address).
	{"10000", "Adatum Corporation", "robert.townes@contoso.com", "Station Road, 21", "", "Cambridge", "CB1 2FB", "GB", "", 3, 1, "Robert", "Townes"},
	{"20000", "Trey Research", "helen.ray@contoso.com", "Southwark Bridge Rd, 91-95", "", "London", "SE1 0AX", "GB", "", 3, 1, "Helen", "Ray"},
	{"50000", "Relecloud", "jesse.homer@contoso.com", "Occam Court, 1", "Surrey", "Guildford", "GU2 7YQ", "GB", "", 3, 1, "Jesse", "Homer"},
	// Differ from the ERP in one field each: city, then e-mail.
	{"30000", "School of Fine Art", "meagan.bond@contoso.com", "10 High Tower Green", "", "Miami Beach", "US-FL 37125", "US", "", 3, 1, "Meagan", "Bond"},
	{"40000", "Alpine Ski House", "ian.deberry@alpineskihouse.example", "Walter-Gropius-Strasse 5", "Park Stadt Schwabing", "Munchen", "DE-80807", "DE", "", 3, 2, "Ian", "Deberry"},
	// ERP vendor, as a vendor account.
	{"V10000", "Fabrikam, Inc.", "krystal.york@contoso.com", "10 North Lake Avenue", "", "Atlanta", "US-GA 31772", "US", "", 11, 1, "Krystal", "York"},
	// CRM only.
	{"CRM1", "Fourth Coffee", "alex.wu@fourthcoffee.example", "1 Bean Street", "", "Bristol", "BS1 4DJ", "GB", "+44 117 496 0000", 3, 1, "Alex", "Wu"},
	{"CRM2", "Litware, Inc.", "info@litware.example", "22 Kings Road", "", "Reading", "RG1 3AR", "GB", "+44 118 496 0123", 8, 0, "Dana", "Birkby"},
	{"CRM3", "Northwind Traders", "orders@northwind.example", "5 Harbour Way", "", "Southampton", "SO14 2AQ", "GB", "", 3, 3, "", ""},
}

// Salespeople whose e-mails match the ERP salespeople (reference/contoso-demo-data.md),
// plus one who exists only in the CRM.
var demoSalespeople = [][3]string{
	{"Benjamin", "Chiu", "BC@contoso.com"}, {"Ester", "Henderson", "EH@contoso.com"}, {"Helena", "Ray", "HR@contoso.com"},
	{"Jim", "Olive", "JO@contoso.com"}, {"Lina", "Townsend", "LT@contoso.com"}, {"Otis", "Falls", "OF@contoso.com"},
	{"Robin", "Bettencourt", "RB@contoso.com"}, {"Nancy", "Anderson", "nancy.anderson@cronus-sandbox.onmicrosoft.com"},
}

func (s *Server) seedDemo() error {
	s.db.mu.Lock()
	defer s.db.mu.Unlock()
	id := deterministicID
	sd := s.newSeeder()
	bu := lk("businessunit", s.ids.rootBU)
	gbp := lk("transactioncurrency", s.ids.baseCurrency)
	year := s.clock().UTC().Year()
	date := func(m time.Month, d int) time.Time { return time.Date(year, m, d, 0, 0, 0, 0, time.UTC) }

	// Currencies besides the base: rates are units per 1 GBP (ERP: 1 EUR = 0.6458 GBP, 100 USD = 64.8824 GBP).
	eur := lk("transactioncurrency", sd.row("transactioncurrency", id("currency:EUR"), map[string]any{"isocurrencycode": "EUR",
		"currencyname": "Euro", "currencysymbol": "€", "currencyprecision": 2, "exchangerate": 1.548467, "currencytype": 0}))
	sd.row("transactioncurrency", id("currency:USD"), map[string]any{"isocurrencycode": "USD", "currencyname": "US Dollar",
		"currencysymbol": "$", "currencyprecision": 2, "exchangerate": 1.541249, "currencytype": 0})

	users := map[string]uuid.UUID{}
	for _, p := range demoSalespeople {
		u := sd.row("systemuser", id("systemuser:"+p[2]), map[string]any{"domainname": p[2], "internalemailaddress": p[2],
			"firstname": p[0], "lastname": p[1], "businessunitid": bu, "islicensed": true, "accessmode": 0,
			"azureactivedirectoryobjectid": id("aad:" + p[2]), "invitestatuscode": 4, "title": "Salesperson"})
		users[p[2]] = u
	}
	jo := lk("systemuser", users["JO@contoso.com"])

	// Units: the default unit group, and one named like the ERP's PCS unit with a set of 4.
	defSched := lk("uomschedule", sd.row("uomschedule", id("uomschedule:Default Unit"), map[string]any{"name": "Default Unit", "baseuomname": "Primary Unit"}))
	sd.row("uom", id("uom:Primary Unit"), map[string]any{"name": "Primary Unit", "uomscheduleid": defSched, "quantity": 1.0, "isschedulebaseuom": true})
	pcsSched := lk("uomschedule", sd.row("uomschedule", id("uomschedule:PCS"), map[string]any{"name": "PCS", "baseuomname": "PCS"}))
	pcs := lk("uom", sd.row("uom", id("uom:PCS"), map[string]any{"name": "PCS", "uomscheduleid": pcsSched, "quantity": 1.0, "isschedulebaseuom": true}))
	sd.row("uom", id("uom:SET"), map[string]any{"name": "SET", "uomscheduleid": pcsSched, "baseuom": pcs, "quantity": 4.0})

	// Price lists.
	plGBP := lk("pricelevel", sd.row("pricelevel", id("pricelevel:GBP"), map[string]any{"name": "Sales Prices GBP",
		"transactioncurrencyid": gbp, "begindate": date(1, 1)}))
	sd.row("pricelevel", id("pricelevel:EUR"), map[string]any{"name": "Sales Prices EUR", "transactioncurrencyid": eur, "begindate": date(1, 1)})

	products := map[string]ref{}
	for _, p := range demoProducts {
		pid := sd.row("product", id("product:"+p.number), map[string]any{"productnumber": p.number, "name": p.name,
			"defaultuomscheduleid": pcsSched, "defaultuomid": pcs, "quantitydecimal": 0, "pricelevelid": plGBP,
			"price": p.price, "standardcost": p.cost, "currentcost": p.cost, "producttypecode": p.kind, "productstructure": 1,
			"transactioncurrencyid": gbp, "statecode": p.state, "quantityonhand": 0.0})
		products[p.number] = lk("product", pid)
		sd.row("productpricelevel", id("ppl:GBP:"+p.number), map[string]any{"pricelevelid": plGBP, "productid": lk("product", pid),
			"uomid": pcs, "uomscheduleid": pcsSched, "amount": p.price, "pricingmethodcode": 1, "quantitysellingcode": 1,
			"transactioncurrencyid": gbp})
	}

	accounts := map[string]ref{}
	for _, a := range demoAccounts {
		vals := map[string]any{"name": a.name, "emailaddress1": a.email, "address1_line1": a.line1, "address1_city": a.city,
			"address1_postalcode": a.postcode, "address1_country": a.country, "customertypecode": a.kind,
			"transactioncurrencyid": gbp, "defaultpricelevelid": plGBP, "ownerid": jo, "creditlimit": 0.0}
		if a.line2 != "" {
			vals["address1_line2"] = a.line2
		}
		if a.phone != "" {
			vals["telephone1"] = a.phone
		}
		if a.terms != 0 {
			vals["paymenttermscode"] = a.terms
		}
		if a.contactFirst != "" {
			vals["address1_primarycontactname"] = a.contactFirst + " " + a.contactLast
		}
		acc := lk("account", sd.row("account", id("account:"+a.key), vals))
		accounts[a.key] = acc
		if a.contactFirst == "" {
			continue
		}
		ct := lk("contact", sd.row("contact", id("contact:"+a.key), map[string]any{"firstname": a.contactFirst, "lastname": a.contactLast,
			"emailaddress1": a.email, "parentcustomerid": acc, "address1_line1": a.line1, "address1_city": a.city,
			"address1_postalcode": a.postcode, "address1_country": a.country, "transactioncurrencyid": gbp, "ownerid": jo}))
		if sd.err == nil {
			s.setSeedLookup(sd, "account", acc.ID, "primarycontactid", ct)
		}
	}
	// A contact without a parent account (the ERP cannot couple it: see microsoft/AL#6205).
	sd.row("contact", id("contact:lonely"), map[string]any{"firstname": "Sam", "lastname": "Loner", "emailaddress1": "sam.loner@example.com",
		"transactioncurrencyid": gbp})

	// Two submitted orders and one active quote.
	type line struct {
		product string
		qty     float64
		write   string
		price   float64
	}
	doc := func(table, key, name string, customer ref, lines []line, extra map[string]any) uuid.UUID {
		total := 0.0
		for _, l := range lines {
			total += l.qty * l.price
		}
		vals := map[string]any{"name": name, "customerid": customer, "pricelevelid": plGBP, "transactioncurrencyid": gbp,
			"ownerid": jo, "totallineitemamount": total, "totalamountlessfreight": total, "totalamount": total,
			"shippingmethodcode": 3, "paymenttermscode": 1}
		for k, v := range extra {
			vals[k] = v
		}
		docID := sd.row(table, id(table+":"+key), vals)
		lineTable, parentCol := table+"detail", table+"id"
		for i, l := range lines {
			lv := map[string]any{parentCol: lk(table, docID), "quantity": l.qty, "priceperunit": l.price,
				"baseamount": l.qty * l.price, "extendedamount": l.qty * l.price, "lineitemnumber": i + 1, "sequencenumber": i + 1,
				"transactioncurrencyid": gbp, "ispriceoverridden": false, "salesrepid": jo}
			if l.write != "" {
				lv["isproductoverridden"] = true
				lv["productdescription"] = l.write
			} else {
				lv["productid"] = products[l.product]
				lv["uomid"] = pcs
			}
			sd.row(lineTable, id(lineTable+":"+key+":"+string(rune('a'+i))), lv)
		}
		return docID
	}
	so1 := doc("salesorder", "1", "Whiteboards for the Cambridge office", accounts["10000"], []line{
		{product: "1996-S", qty: 12, price: 906.70}, {product: "1928-S", qty: 7, price: 35.60},
	}, map[string]any{"ordernumber": "ORD-01001-DEMO01", "statecode": 1, "statuscode": 3, "submitdate": date(2, 4),
		"requestdeliveryby": date(4, 3), "shipto_line1": "Montpellier House", "shipto_city": "Cheltenham", "shipto_postalcode": "GL50 1TY",
		"shipto_country": "GB", "description": "Deliver to the Cheltenham site."})
	doc("salesorder", "2", "Conference room refit", accounts["50000"], []line{
		{product: "1920-S", qty: 3, price: 420.40}, {write: "Delivery and assembly", qty: 1, price: 150.00},
	}, map[string]any{"ordernumber": "ORD-01002-DEMO02", "statecode": 1, "statuscode": 3, "submitdate": date(2, 10),
		"requestdeliveryby": date(3, 2)})
	doc("quote", "1", "Guest chairs for the lobby", accounts["20000"], []line{
		{product: "1936-S", qty: 10, price: 125.10},
	}, map[string]any{"quotenumber": "QUO-01001-DEMO01", "statecode": 1, "statuscode": 2, "effectivefrom": date(2, 4), "effectiveto": date(3, 31)})
	sd.row("annotation", id("annotation:so1"), map[string]any{"objectid": lk("salesorder", so1), "subject": "Delivery window",
		"notetext": "Please deliver before noon; the loading bay closes at 12:30."})
	sd.row("opportunity", id("opportunity:1"), map[string]any{"name": "Office refurbishment 2nd floor", "customerid": accounts["20000"],
		"parentaccountid": accounts["20000"], "estimatedvalue": 12500.0, "closeprobability": 40, "transactioncurrencyid": gbp,
		"pricelevelid": plGBP, "ownerid": jo, "estimatedclosedate": date(6, 30)})
	sd.row("post", id("post:1"), map[string]any{"regardingobjectid": accounts["10000"], "text": "Adatum asked for a new whiteboard quote.",
		"source": 2, "type": 7})
	if err := sd.done(); err != nil {
		return err
	}
	for _, p := range demoSalespeople[:7] {
		s.associate(nil, users[p[2]], deterministicID("role:Salesperson"))
	}
	return nil
}

// setSeedLookup sets one lookup on an already seeded row (account → primary contact).
func (s *Server) setSeedLookup(sd *seeder, table string, id uuid.UUID, col string, v ref) {
	ts := s.db.store(table)
	old := ts.byID[id]
	if old == nil {
		return
	}
	nr := old.with(map[int]any{ts.t.col(col).idx: v})
	sd.x.put(ts, old, nr)
}
