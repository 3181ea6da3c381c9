package mapping

import "strings"

// Schema answers which fields exist on each side, so that a mapping naming
// an unknown field is refused before it reaches an API. The live metadata
// of a connection implements it; Catalog is the offline fallback.
type Schema interface {
	// ERPFields returns the fields of an ERP entity set (ok=false: unknown set).
	ERPFields(entitySet string) (fields map[string]bool, ok bool)
	// CRMFields returns the columns of a CRM table by logical name.
	CRMFields(table string) (fields map[string]bool, ok bool)
}

// Catalog is the built-in Schema: the BC API v2.0 entities and Dataverse
// columns of reference/bc-api-v2-entities.md and dataverse-tables.md.
var Catalog Schema = catalog{erp: parseCatalog(erpCatalog), crm: parseCatalog(crmCatalog)}

type catalog struct{ erp, crm map[string]map[string]bool }

func (c catalog) ERPFields(s string) (map[string]bool, bool) { f, ok := c.erp[s]; return f, ok }
func (c catalog) CRMFields(s string) (map[string]bool, bool) { f, ok := c.crm[s]; return f, ok }

func parseCatalog(src string) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for _, line := range strings.Split(src, "\n") {
		name, rest, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		fs := map[string]bool{}
		for _, fld := range strings.Fields(rest) {
			fs[fld] = true
		}
		out[strings.TrimSpace(name)] = fs
	}
	return out
}

const docHeader = ` customerId customerNumber customerName billToName billToCustomerId billToCustomerNumber shipToName shipToContact sellToAddressLine1 sellToAddressLine2 sellToCity sellToCountry sellToState sellToPostCode billToAddressLine1 billToAddressLine2 billToCity billToCountry billToState billToPostCode shipToAddressLine1 shipToAddressLine2 shipToCity shipToCountry shipToState shipToPostCode `

const docLine = ` id documentId sequence itemId accountId lineType lineObjectNumber description description2 unitOfMeasureId unitOfMeasureCode quantity unitPrice discountAmount discountPercent discountAppliedBeforeTax amountExcludingTax taxCode taxPercent totalTaxAmount amountIncludingTax invoiceDiscountAllocation netAmount netTaxAmount netAmountIncludingTax shipmentDate itemVariantId locationId `

var erpCatalog = `
customers: id number displayName type addressLine1 addressLine2 city state country postalCode phoneNumber email website salespersonCode balanceDue creditLimit taxLiable taxAreaId taxAreaDisplayName taxRegistrationNumber currencyId currencyCode paymentTermsId shipmentMethodId paymentMethodId blocked lastModifiedDateTime
vendors: id number displayName addressLine1 addressLine2 city state country postalCode phoneNumber email website taxRegistrationNumber currencyId currencyCode irs1099Code paymentTermsId paymentMethodId taxLiable blocked balance lastModifiedDateTime
contacts: id number type displayName jobTitle companyNumber companyName contactBusinessRelation addressLine1 addressLine2 city state country postalCode phoneNumber mobilePhoneNumber email website searchName privacyBlocked taxRegistrationNumber lastInteractionDate lastModifiedDateTime
items: id number displayName displayName2 type itemCategoryId itemCategoryCode blocked gtin inventory unitPrice priceIncludesTax unitCost taxGroupId taxGroupCode baseUnitOfMeasureId baseUnitOfMeasureCode generalProductPostingGroupId generalProductPostingGroupCode inventoryPostingGroupId inventoryPostingGroupCode lastModifiedDateTime
salespeoplePurchasers: id code displayName email email2 phoneNo jobTitle commisionPercent privacyBlocked blocked lastModifiedDateTime
currencies: id code displayName symbol amountDecimalPlaces amountRoundingPrecision lastModifiedDateTime
unitsOfMeasure: id code displayName internationalStandardCode symbol lastModifiedDateTime
paymentTerms: id code displayName dueDateCalculation discountDateCalculation discountPercent calculateDiscountOnCreditMemos lastModifiedDateTime
shipmentMethods: id code displayName lastModifiedDateTime
salesOrders: id number externalDocumentNumber orderDate postingDate` + docHeader + `shortcutDimension1Code shortcutDimension2Code currencyId currencyCode pricesIncludeTax paymentTermsId shipmentMethodId salesperson partialShipping requestedDeliveryDate discountAmount discountAppliedBeforeTax totalAmountExcludingTax totalTaxAmount totalAmountIncludingTax fullyShipped status lastModifiedDateTime phoneNumber email
salesQuotes: id number externalDocumentNumber documentDate postingDate dueDate` + docHeader + `shortcutDimension1Code shortcutDimension2Code currencyId currencyCode paymentTermsId shipmentMethodId salesperson discountAmount totalAmountExcludingTax totalTaxAmount totalAmountIncludingTax status sentDate validUntilDate acceptedDate lastModifiedDateTime phoneNumber email
salesInvoices: id number externalDocumentNumber invoiceDate postingDate dueDate promisedPayDate customerPurchaseOrderReference` + docHeader + `currencyId shortcutDimension1Code shortcutDimension2Code currencyCode orderId orderNumber paymentTermsId shipmentMethodId salesperson disputeStatusId disputeStatus pricesIncludeTax remainingAmount discountAmount discountAppliedBeforeTax totalAmountExcludingTax totalTaxAmount totalAmountIncludingTax status lastModifiedDateTime phoneNumber email
salesOrderLines:` + docLine + `shippedQuantity invoicedQuantity invoiceQuantity shipQuantity
salesQuoteLines:` + docLine + `
salesInvoiceLines:` + docLine + `
`

const sys = ` createdon modifiedon _createdby_value _modifiedby_value versionnumber statecode statuscode `
const owned = ` ownerid _ownerid_value owneridtype transactioncurrencyid _transactioncurrencyid_value exchangerate `
const addr1 = ` address1_name address1_line1 address1_line2 address1_line3 address1_city address1_country address1_stateorprovince address1_county address1_postalcode address1_postofficebox address1_telephone1 address1_fax address1_addresstypecode address1_shippingmethodcode address1_freighttermscode address1_composite `
const doc = ` name customerid _customerid_value pricelevelid _pricelevelid_value opportunityid _opportunityid_value description discountamount discountpercentage freightamount totallineitemamount totallineitemdiscountamount totaldiscountamount totalamountlessfreight totaltax totalamount paymenttermscode shippingmethodcode willcall emailaddress billto_name billto_line1 billto_line2 billto_line3 billto_city billto_country billto_stateorprovince billto_postalcode billto_telephone billto_fax shipto_name shipto_line1 shipto_line2 shipto_line3 shipto_city shipto_country shipto_stateorprovince shipto_postalcode shipto_telephone shipto_fax shipto_freighttermscode pricingerrorcode `
const line = ` productid _productid_value isproductoverridden productdescription productname uomid _uomid_value quantity priceperunit ispriceoverridden baseamount extendedamount manualdiscountamount tax lineitemnumber sequencenumber description producttypecode propertyconfigurationstatus salesrepid productnumber willcall `

var crmCatalog = `
account: accountid name accountnumber parentaccountid primarycontactid defaultpricelevelid emailaddress1 emailaddress2 emailaddress3 telephone1 telephone2 telephone3 fax websiteurl description creditlimit creditonhold paymenttermscode customertypecode preferredcontactmethodcode revenue numberofemployees` + addr1 + sys + owned + `
contact: contactid firstname lastname middlename fullname parentcustomerid _parentcustomerid_value parentcustomeridtype accountid salutation suffix jobtitle department emailaddress1 emailaddress2 emailaddress3 telephone1 telephone2 mobilephone fax company birthdate creditlimit creditonhold paymenttermscode preferredcontactmethodcode isbackofficecustomer description websiteurl` + addr1 + sys + owned + `
product: productid name productnumber defaultuomscheduleid _defaultuomscheduleid_value defaultuomid _defaultuomid_value quantitydecimal pricelevelid price currentcost standardcost productstructure producttypecode parentproductid description quantityonhand stockweight stockvolume validfromdate validtodate vendorid vendorname vendorpartnumber suppliername transactioncurrencyid` + sys + `
systemuser: systemuserid domainname internalemailaddress firstname lastname fullname businessunitid isdisabled islicensed isintegrationuser setupuser accessmode azureactivedirectoryobjectid applicationid invitestatuscode title jobtitle mobilephone personalemailaddress parentsystemuserid transactioncurrencyid createdon modifiedon _modifiedby_value
transactioncurrency: transactioncurrencyid isocurrencycode currencyname currencysymbol currencyprecision exchangerate currencytype` + sys + `
uomschedule: uomscheduleid name baseuomname description` + sys + `
uom: uomid name uomscheduleid _uomscheduleid_value baseuom _baseuom_value quantity isschedulebaseuom createdon modifiedon _modifiedby_value
pricelevel: pricelevelid name transactioncurrencyid _transactioncurrencyid_value begindate enddate freighttermscode paymentmethodcode shippingmethodcode description` + sys + `
productpricelevel: productpricelevelid pricelevelid _pricelevelid_value productid _productid_value uomid _uomid_value uomscheduleid amount percentage pricingmethodcode quantitysellingcode roundingpolicycode roundingoptioncode roundingoptionamount transactioncurrencyid createdon modifiedon _modifiedby_value
opportunity: opportunityid name customerid parentaccountid parentcontactid pricelevelid estimatedvalue actualvalue budgetamount estimatedclosedate actualclosedate finaldecisiondate closeprobability isrevenuesystemcalculated opportunityratingcode salesstage description discountamount discountpercentage freightamount` + sys + owned + `
quote: quoteid quotenumber revisionnumber campaignid freighttermscode requestdeliveryby effectivefrom effectiveto expireson closedon` + doc + sys + owned + `
salesorder: salesorderid ordernumber quoteid campaignid ispricelocked freighttermscode prioritycode requestdeliveryby datefulfilled submitdate lastbackofficesubmit ordercreationmethod` + doc + sys + owned + `
invoice: invoiceid invoicenumber salesorderid ispricelocked prioritycode lastbackofficesubmit duedate datedelivered` + doc + sys + owned + `
quotedetail: quotedetailid quoteid quotedetailname requestdeliveryby` + line + sys + owned + `
salesorderdetail: salesorderdetailid salesorderid salesorderdetailname quantitybackordered quantitycancelled quantityshipped requestdeliveryby quotedetailid skippricecalculation` + line + sys + owned + `
invoicedetail: invoicedetailid invoiceid invoicedetailname quantitybackordered quantitycancelled quantityshipped actualdeliveryon salesorderdetailid` + line + sys + owned + `
`
