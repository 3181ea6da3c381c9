package bc

import (
	"fmt"
	"strconv"
	"strings"
)

// kind is the EDM type of a field.
type kind uint8

const (
	kString kind = iota
	kDecimal
	kInt32
	kInt64
	kBool
	kGUID
	kDate
	kDateTime
	kEnum
)

func (k kind) edm() string {
	switch k {
	case kDecimal:
		return "Edm.Decimal"
	case kInt32:
		return "Edm.Int32"
	case kInt64:
		return "Edm.Int64"
	case kBool:
		return "Edm.Boolean"
	case kGUID:
		return "Edm.Guid"
	case kDate:
		return "Edm.Date"
	case kDateTime:
		return "Edm.DateTimeOffset"
	}
	return "Edm.String"
}

// field is one property of an entity, in page order (which is also JSON order).
type field struct {
	name     string
	kind     kind
	maxLen   int    // 0 = unbounded
	enum     string // enum type name for kEnum
	readOnly bool
}

// entitySet describes one API page: its fields, key and numbering.
type entitySet struct {
	name       string // entity set name in URLs
	entity     string // entity type name
	fields     []field
	index      map[string]int // field name → position
	keyField   string         // "id", or "userSecurityId" for users
	sortField  string         // the BC table's primary key, the default order
	numbered   string         // field holding the document/master number ("" = none)
	lines      string         // contained line set, e.g. "salesOrderLines"
	parent     string         // header set of a line set
	readOnly   bool           // GET only (itemLedgerEntries)
	noCreate   bool           // no POST (users)
	noDelete   bool           // no DELETE (users)
	actions    []string       // bound actions (Microsoft.NAV.*)
	automation bool           // served under api/microsoft/automation/v2.0
}

func (s *entitySet) field(name string) (field, int, bool) {
	i, ok := s.index[name]
	if !ok {
		return field{}, -1, false
	}
	return s.fields[i], i, true
}

// enums holds each Microsoft.NAV enum's JSON values, in AL member order.
var enums = map[string][]string{
	"contactType":                  {"Company", "Person"},
	"customerBlocked":              {"_x0020_", "Ship", "Invoice", "All"},
	"vendorBlocked":                {"_x0020_", "Payment", "All"},
	"itemType":                     {"Inventory", "Service", "Non_x002D_Inventory"},
	"contactBusinessRelation":      {"_x0020_", "Customer", "Vendor", "Bank_x0020_Account", "Employee", "None", "Other", "Multiple"},
	"employeeStatus":               {"Active", "Inactive", "Terminated"},
	"itemLedgerEntryType":          {"Purchase", "Sale", "Positive_x0020_Adjmt_x002E_", "Negative_x0020_Adjmt_x002E_", "Transfer", "Consumption", "Output", "_x0020_", "Assembly_x0020_Consumption", "Assembly_x0020_Output"},
	"analysisSourceType":           {"_x0020_", "Customer", "Vendor", "Item"},
	"itemLedgerDocumentType":       {"_x0020_", "Sales_x0020_Shipment", "Sales_x0020_Invoice", "Sales_x0020_Return_x0020_Receipt", "Sales_x0020_Credit_x0020_Memo", "Purchase_x0020_Receipt", "Purchase_x0020_Invoice", "Purchase_x0020_Return_x0020_Shipment", "Purchase_x0020_Credit_x0020_Memo", "Transfer_x0020_Shipment", "Transfer_x0020_Receipt", "Service_x0020_Shipment", "Service_x0020_Invoice", "Service_x0020_Credit_x0020_Memo", "Posted_x0020_Assembly", "Inventory_x0020_Receipt", "Inventory_x0020_Shipment", "Direct_x0020_Transfer"},
	"salesOrderEntityBufferStatus": {"Draft", "In_x0020_Review", "Open"},
	"salesQuoteEntityBufferStatus": {"Draft", "Sent", "Accepted", "Expired_x0020_"},
	"invoiceEntityAggregateStatus": {"_x0020_", "Draft", "In_x0020_Review", "Open", "Paid", "Canceled", "Corrective"},
	"invoiceLineAggLineType":       {"Comment", "Account", "Item", "Resource", "Fixed_x0020_Asset", "Charge", "Allocation_x0020_Account"},
	"userState":                    {"Enabled", "Disabled"},
}

// headerBlock is block H of the reference: the customer part shared by all sales headers.
const headerBlock = `customerId Guid · customerNumber S20 · customerName S100* · billToName S100* · billToCustomerId Guid · billToCustomerNumber S20 · shipToName S100 · shipToContact S100 · sellToAddressLine1 S100 · sellToAddressLine2 S50 · sellToCity S30 · sellToCountry S10 · sellToState S30 · sellToPostCode S20 · billToAddressLine1 S100 · billToAddressLine2 S50 · billToCity S30 · billToCountry S10 · billToState S30 · billToPostCode S20 · shipToAddressLine1 S100 · shipToAddressLine2 S50 · shipToCity S30 · shipToCountry S10 · shipToState S30 · shipToPostCode S20`

const orderLineFields = `id Guid* · documentId Guid · sequence I32 · itemId Guid · accountId Guid · lineType NAV.invoiceLineAggLineType · lineObjectNumber S20 · description S100 · description2 S50 · unitOfMeasureId Guid · unitOfMeasureCode S10 · quantity Dec · unitPrice Dec · discountAmount Dec · discountPercent Dec · discountAppliedBeforeTax Bool* · amountExcludingTax Dec* · taxCode S50 · taxPercent Dec* · totalTaxAmount Dec* · amountIncludingTax Dec* · invoiceDiscountAllocation Dec* · netAmount Dec* · netTaxAmount Dec* · netAmountIncludingTax Dec* · shipmentDate Date · shippedQuantity Dec* · invoicedQuantity Dec* · invoiceQuantity Dec · shipQuantity Dec · itemVariantId Guid · locationId Guid`

// The field lists below are the reference's (bc-api-v2-entities.md), in page order.
var setDefs = []struct {
	name, entity, fields, sort, numbered, lines, parent string
	actions                                             []string
}{
	{"customers", "customer", `id Guid* · number S20 · displayName S100 · type NAV.contactType · addressLine1 S100 · addressLine2 S50 · city S30 · state S30 · country S10 · postalCode S20 · phoneNumber S30 · email S80 · website S255 · salespersonCode S20 · balanceDue Dec* · creditLimit Dec · taxLiable Bool · taxAreaId Guid · taxAreaDisplayName S* · taxRegistrationNumber S50 · currencyId Guid · currencyCode S · paymentTermsId Guid · shipmentMethodId Guid · paymentMethodId Guid · blocked NAV.customerBlocked · lastModifiedDateTime DTO*`, "number", "number", "", "", nil},
	{"vendors", "vendor", `id Guid* · number S20 · displayName S100 · addressLine1 S100 · addressLine2 S50 · city S30 · state S30 · country S10 · postalCode S20 · phoneNumber S30 · email S80 · website S255 · taxRegistrationNumber S50 · currencyId Guid · currencyCode S · irs1099Code S10 · paymentTermsId Guid · paymentMethodId Guid · taxLiable Bool · blocked NAV.vendorBlocked · balance Dec* · lastModifiedDateTime DTO*`, "number", "number", "", "", nil},
	{"contacts", "contact", `id Guid* · number S20 · type NAV.contactType · displayName S100 · jobTitle S30 · companyNumber S20 · companyName S100 · contactBusinessRelation NAV.contactBusinessRelation* · addressLine1 S100 · addressLine2 S50 · city S30 · state S30 · country S10 · postalCode S20 · phoneNumber S30 · mobilePhoneNumber S30 · email S80 · website S255 · searchName S100 · privacyBlocked Bool · taxRegistrationNumber S50 · lastInteractionDate Date* · lastModifiedDateTime DTO*`, "number", "number", "", "", nil},
	{"items", "item", `id Guid* · number S20 · displayName S100 · displayName2 S50 · type NAV.itemType · itemCategoryId Guid · itemCategoryCode S20 · blocked Bool · gtin S14 · inventory Dec · unitPrice Dec · priceIncludesTax Bool · unitCost Dec · taxGroupId Guid · taxGroupCode S20 · baseUnitOfMeasureId Guid · baseUnitOfMeasureCode S10 · generalProductPostingGroupId Guid · generalProductPostingGroupCode S20 · inventoryPostingGroupId Guid · inventoryPostingGroupCode S20 · lastModifiedDateTime DTO*`, "number", "number", "", "", nil},
	{"salespeoplePurchasers", "salespersonPurchaser", `id Guid* · code S20 · displayName S50 · email S80 · email2 S80 · phoneNo S30 · jobTitle S30 · commisionPercent Dec · privacyBlocked Bool · blocked Bool · lastModifiedDateTime DTO*`, "code", "", "", "", nil},
	{"currencies", "currency", `id Guid* · code S10 · displayName S30 · symbol S10 · amountDecimalPlaces S5 · amountRoundingPrecision Dec · lastModifiedDateTime DTO*`, "code", "", "", "", nil},
	{"unitsOfMeasure", "unitOfMeasure", `id Guid* · code S10 · displayName S50 · internationalStandardCode S10 · symbol S10 · lastModifiedDateTime DTO*`, "code", "", "", "", nil},
	{"paymentTerms", "paymentTerm", `id Guid* · code S10 · displayName S100 · dueDateCalculation S · discountDateCalculation S · discountPercent Dec · calculateDiscountOnCreditMemos Bool · lastModifiedDateTime DTO*`, "code", "", "", "", nil},
	{"shipmentMethods", "shipmentMethod", `id Guid* · code S10 · displayName S100 · lastModifiedDateTime DTO*`, "code", "", "", "", nil},
	{"employees", "employee", `id Guid* · number S20 · displayName S* · givenName S30 · middleName S30 · surname S30 · jobTitle S30 · addressLine1 S100 · addressLine2 S50 · city S30 · state S30 · country S10 · postalCode S20 · phoneNumber S30 · mobilePhone S30 · email S80 · personalEmail S80 · employmentDate Date · terminationDate Date · status NAV.employeeStatus · birthDate Date · statisticsGroupCode S10 · bankBranchNumber S20 · bankAccountNumber S30 · iban S50 · lastModifiedDateTime DTO*`, "number", "number", "", "", nil},
	{"itemLedgerEntries", "itemLedgerEntry", `id Guid* · entryNumber I32* · itemNumber S20* · postingDate Date* · entryType NAV.itemLedgerEntryType* · sourceNumber S20* · sourceType NAV.analysisSourceType* · documentNumber S20* · documentType NAV.itemLedgerDocumentType* · description S100* · quantity Dec* · salesAmountActual Dec* · costAmountActual Dec* · lastModifiedDateTime DTO*`, "entryNumber", "", "", "", nil},
	{"salesOrders", "salesOrder", `id Guid* · number S20* · externalDocumentNumber S35 · orderDate Date · postingDate Date · ` + headerBlock + ` · shortcutDimension1Code S20 · shortcutDimension2Code S20 · currencyId Guid · currencyCode S · pricesIncludeTax Bool · paymentTermsId Guid · shipmentMethodId Guid · salesperson S20 · partialShipping Bool · requestedDeliveryDate Date · discountAmount Dec · discountAppliedBeforeTax Bool* · totalAmountExcludingTax Dec* · totalTaxAmount Dec* · totalAmountIncludingTax Dec* · fullyShipped Bool · status NAV.salesOrderEntityBufferStatus* · lastModifiedDateTime DTO* · phoneNumber S30 · email S80`, "number", "number", "salesOrderLines", "", []string{"shipAndInvoice"}},
	{"salesOrderLines", "salesOrderLine", orderLineFields, "sequence", "", "", "salesOrders", nil},
	{"salesQuotes", "salesQuote", `id Guid* · number S20* · externalDocumentNumber S35 · documentDate Date · postingDate Date · dueDate Date · ` + headerBlock + ` · shortcutDimension1Code S20 · shortcutDimension2Code S20 · currencyId Guid · currencyCode S · paymentTermsId Guid · shipmentMethodId Guid · salesperson S20 · discountAmount Dec · totalAmountExcludingTax Dec* · totalTaxAmount Dec* · totalAmountIncludingTax Dec* · status NAV.salesQuoteEntityBufferStatus* · sentDate DTO* · validUntilDate Date · acceptedDate Date* · lastModifiedDateTime DTO* · phoneNumber S30 · email S80`, "number", "number", "salesQuoteLines", "", []string{"makeInvoice", "makeOrder", "send"}},
	{"salesQuoteLines", "salesQuoteLine", `id Guid* · documentId Guid · sequence I32 · itemId Guid · accountId Guid · lineType NAV.invoiceLineAggLineType · lineObjectNumber S20 · description S100 · description2 S50 · unitOfMeasureId Guid · unitOfMeasureCode S10 · unitPrice Dec · quantity Dec · discountAmount Dec · discountPercent Dec · discountAppliedBeforeTax Bool* · amountExcludingTax Dec* · taxCode S50 · taxPercent Dec* · totalTaxAmount Dec* · amountIncludingTax Dec* · netAmount Dec · netTaxAmount Dec* · netAmountIncludingTax Dec* · itemVariantId Guid · locationId Guid`, "sequence", "", "", "salesQuotes", nil},
	{"salesInvoices", "salesInvoice", `id Guid* · number S20* · externalDocumentNumber S35 · invoiceDate Date · postingDate Date · dueDate Date · promisedPayDate Date · customerPurchaseOrderReference S35 · ` + headerBlock + ` · currencyId Guid · shortcutDimension1Code S20 · shortcutDimension2Code S20 · currencyCode S · orderId Guid* · orderNumber S20* · paymentTermsId Guid · shipmentMethodId Guid · salesperson S20 · disputeStatusId Guid · disputeStatus S10 · pricesIncludeTax Bool* · remainingAmount Dec* · discountAmount Dec · discountAppliedBeforeTax Bool* · totalAmountExcludingTax Dec* · totalTaxAmount Dec* · totalAmountIncludingTax Dec* · status NAV.invoiceEntityAggregateStatus* · lastModifiedDateTime DTO* · phoneNumber S30 · email S80`, "number", "number", "salesInvoiceLines", "", []string{"post"}},
	{"salesInvoiceLines", "salesInvoiceLine", `id Guid* · documentId Guid · sequence I32 · itemId Guid · accountId Guid · lineType NAV.invoiceLineAggLineType · lineObjectNumber S20 · description S100 · description2 S50 · unitOfMeasureId Guid · unitOfMeasureCode S10 · quantity Dec · unitPrice Dec · discountAmount Dec · discountPercent Dec · discountAppliedBeforeTax Bool* · amountExcludingTax Dec* · taxCode S50 · taxPercent Dec* · totalTaxAmount Dec* · amountIncludingTax Dec* · invoiceDiscountAllocation Dec* · netAmount Dec* · netTaxAmount Dec* · netAmountIncludingTax Dec* · shipmentDate Date · itemVariantId Guid · locationId Guid`, "sequence", "", "", "salesInvoices", nil},
	{"users", "user", `userSecurityId Guid* · userName S50* · displayName S80* · state NAV.userState · expiryDate DTO · contactEmail S250`, "userName", "", "", "", nil},
}

// buildSchema parses the field lists once; a malformed list is a programming error
// reported by New, not a panic.
func buildSchema() (map[string]*entitySet, []string, error) {
	sets := make(map[string]*entitySet, len(setDefs))
	order := make([]string, 0, len(setDefs))
	for _, d := range setDefs {
		s := &entitySet{name: d.name, entity: d.entity, keyField: "id", sortField: d.sort, numbered: d.numbered,
			lines: d.lines, parent: d.parent, actions: d.actions, index: map[string]int{}}
		for _, tok := range strings.Split(d.fields, "·") {
			f, err := parseField(strings.TrimSpace(tok))
			if err != nil {
				return nil, nil, fmt.Errorf("entity set %s: %w", d.name, err)
			}
			s.index[f.name] = len(s.fields)
			s.fields = append(s.fields, f)
		}
		switch d.name {
		case "itemLedgerEntries":
			s.readOnly = true
		case "users":
			s.keyField, s.noCreate, s.noDelete, s.automation = "userSecurityId", true, true, true
		}
		if _, ok := s.index[s.sortField]; !ok {
			return nil, nil, fmt.Errorf("entity set %s: sort field %q is not a field", d.name, s.sortField)
		}
		sets[d.name] = s
		order = append(order, d.name)
	}
	return sets, order, nil
}

func parseField(tok string) (field, error) {
	name, typ, ok := strings.Cut(tok, " ")
	if !ok {
		return field{}, fmt.Errorf("field %q has no type", tok)
	}
	f := field{name: name}
	if strings.HasSuffix(typ, "*") {
		f.readOnly = true
		typ = strings.TrimSuffix(typ, "*")
	}
	switch {
	case typ == "Guid":
		f.kind = kGUID
	case typ == "Dec":
		f.kind = kDecimal
	case typ == "I32":
		f.kind = kInt32
	case typ == "I64":
		f.kind = kInt64
	case typ == "Bool":
		f.kind = kBool
	case typ == "Date":
		f.kind = kDate
	case typ == "DTO":
		f.kind = kDateTime
	case strings.HasPrefix(typ, "NAV."):
		f.kind, f.enum = kEnum, strings.TrimPrefix(typ, "NAV.")
		if _, ok := enums[f.enum]; !ok {
			return field{}, fmt.Errorf("field %s: unknown enum %s", name, f.enum)
		}
	case strings.HasPrefix(typ, "S"):
		f.kind = kString
		if n := strings.TrimPrefix(typ, "S"); n != "" {
			l, err := strconv.Atoi(n)
			if err != nil {
				return field{}, fmt.Errorf("field %s: bad length %q", name, n)
			}
			f.maxLen = l
		}
	default:
		return field{}, fmt.Errorf("field %s: unknown type %q", name, typ)
	}
	return f, nil
}
