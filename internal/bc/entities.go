package bc

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// Entity set names of the API v2.0, as they appear in URLs.
const (
	SetCustomers             = "customers"
	SetVendors               = "vendors"
	SetContacts              = "contacts"
	SetItems                 = "items"
	SetSalespeoplePurchasers = "salespeoplePurchasers"
	SetCurrencies            = "currencies"
	SetUnitsOfMeasure        = "unitsOfMeasure"
	SetPaymentTerms          = "paymentTerms"
	SetShipmentMethods       = "shipmentMethods"
	SetSalesOrders           = "salesOrders"
	SetSalesOrderLines       = "salesOrderLines"
	SetSalesQuotes           = "salesQuotes"
	SetSalesQuoteLines       = "salesQuoteLines"
	SetSalesInvoices         = "salesInvoices"
	SetSalesInvoiceLines     = "salesInvoiceLines"
	SetItemLedgerEntries     = "itemLedgerEntries"
	SetEmployees             = "employees"
)

// The typed records below carry the fields coupler reads and writes; every
// field is omitzero so a create sends only what was set (read-only fields
// such as id or lastModifiedDateTime stay out). Anything else is reachable
// through the generic json.RawMessage calls.

// Company is a record of {api}/companies.
type Company struct {
	ID                string `json:"id"`
	Name              string `json:"name"`
	DisplayName       string `json:"displayName,omitzero"`
	SystemVersion     string `json:"systemVersion,omitzero"`
	BusinessProfileID string `json:"businessProfileId,omitzero"`
}

// Customer is a record of customers.
type Customer struct {
	ETag                  string    `json:"@odata.etag,omitzero"`
	ID                    string    `json:"id,omitzero"`
	Number                string    `json:"number,omitzero"`
	DisplayName           string    `json:"displayName,omitzero"`
	Type                  string    `json:"type,omitzero"` // Company, Person
	AddressLine1          string    `json:"addressLine1,omitzero"`
	AddressLine2          string    `json:"addressLine2,omitzero"`
	City                  string    `json:"city,omitzero"`
	State                 string    `json:"state,omitzero"`
	Country               string    `json:"country,omitzero"`
	PostalCode            string    `json:"postalCode,omitzero"`
	PhoneNumber           string    `json:"phoneNumber,omitzero"`
	Email                 string    `json:"email,omitzero"`
	Website               string    `json:"website,omitzero"`
	SalespersonCode       string    `json:"salespersonCode,omitzero"`
	BalanceDue            float64   `json:"balanceDue,omitzero"`
	CreditLimit           float64   `json:"creditLimit,omitzero"`
	TaxLiable             bool      `json:"taxLiable,omitzero"`
	TaxRegistrationNumber string    `json:"taxRegistrationNumber,omitzero"`
	CurrencyID            string    `json:"currencyId,omitzero"`
	CurrencyCode          string    `json:"currencyCode,omitzero"`
	PaymentTermsID        string    `json:"paymentTermsId,omitzero"`
	ShipmentMethodID      string    `json:"shipmentMethodId,omitzero"`
	PaymentMethodID       string    `json:"paymentMethodId,omitzero"`
	Blocked               string    `json:"blocked,omitzero"` // _x0020_, Ship, Invoice, All
	LastModifiedDateTime  time.Time `json:"lastModifiedDateTime,omitzero"`
}

// Contact is a record of contacts.
type Contact struct {
	ETag                 string    `json:"@odata.etag,omitzero"`
	ID                   string    `json:"id,omitzero"`
	Number               string    `json:"number,omitzero"`
	Type                 string    `json:"type,omitzero"`
	DisplayName          string    `json:"displayName,omitzero"`
	JobTitle             string    `json:"jobTitle,omitzero"`
	CompanyNumber        string    `json:"companyNumber,omitzero"`
	CompanyName          string    `json:"companyName,omitzero"`
	AddressLine1         string    `json:"addressLine1,omitzero"`
	City                 string    `json:"city,omitzero"`
	Country              string    `json:"country,omitzero"`
	PostalCode           string    `json:"postalCode,omitzero"`
	PhoneNumber          string    `json:"phoneNumber,omitzero"`
	MobilePhoneNumber    string    `json:"mobilePhoneNumber,omitzero"`
	Email                string    `json:"email,omitzero"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime,omitzero"`
}

// Vendor is a record of vendors.
type Vendor struct {
	ETag                 string    `json:"@odata.etag,omitzero"`
	ID                   string    `json:"id,omitzero"`
	Number               string    `json:"number,omitzero"`
	DisplayName          string    `json:"displayName,omitzero"`
	AddressLine1         string    `json:"addressLine1,omitzero"`
	City                 string    `json:"city,omitzero"`
	Country              string    `json:"country,omitzero"`
	PhoneNumber          string    `json:"phoneNumber,omitzero"`
	Email                string    `json:"email,omitzero"`
	CurrencyCode         string    `json:"currencyCode,omitzero"`
	Blocked              string    `json:"blocked,omitzero"`
	Balance              float64   `json:"balance,omitzero"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime,omitzero"`
}

// Item is a record of items. Inventory is computed by BC from item ledger
// entries: POST refuses it, PATCH posts an adjustment.
type Item struct {
	ETag                  string    `json:"@odata.etag,omitzero"`
	ID                    string    `json:"id,omitzero"`
	Number                string    `json:"number,omitzero"`
	DisplayName           string    `json:"displayName,omitzero"`
	DisplayName2          string    `json:"displayName2,omitzero"`
	Type                  string    `json:"type,omitzero"` // Inventory, Service, Non_x002D_Inventory
	ItemCategoryCode      string    `json:"itemCategoryCode,omitzero"`
	Blocked               bool      `json:"blocked,omitzero"`
	GTIN                  string    `json:"gtin,omitzero"`
	Inventory             float64   `json:"inventory,omitzero"`
	UnitPrice             float64   `json:"unitPrice,omitzero"`
	PriceIncludesTax      bool      `json:"priceIncludesTax,omitzero"`
	UnitCost              float64   `json:"unitCost,omitzero"`
	BaseUnitOfMeasureID   string    `json:"baseUnitOfMeasureId,omitzero"`
	BaseUnitOfMeasureCode string    `json:"baseUnitOfMeasureCode,omitzero"`
	LastModifiedDateTime  time.Time `json:"lastModifiedDateTime,omitzero"`
}

// SalespersonPurchaser is a record of salespeoplePurchasers.
type SalespersonPurchaser struct {
	ETag                 string    `json:"@odata.etag,omitzero"`
	ID                   string    `json:"id,omitzero"`
	Code                 string    `json:"code,omitzero"`
	DisplayName          string    `json:"displayName,omitzero"`
	Email                string    `json:"email,omitzero"`
	PhoneNo              string    `json:"phoneNo,omitzero"`
	JobTitle             string    `json:"jobTitle,omitzero"`
	CommisionPercent     float64   `json:"commisionPercent,omitzero"` // sic, as in BC
	Blocked              bool      `json:"blocked,omitzero"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime,omitzero"`
}

// CodeRecord is the shape shared by currencies, unitsOfMeasure,
// paymentTerms and shipmentMethods as far as coupler needs them.
type CodeRecord struct {
	ETag                 string    `json:"@odata.etag,omitzero"`
	ID                   string    `json:"id,omitzero"`
	Code                 string    `json:"code,omitzero"`
	DisplayName          string    `json:"displayName,omitzero"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime,omitzero"`
}

// SalesDocumentLine is a line of salesOrders, salesQuotes or salesInvoices.
type SalesDocumentLine struct {
	ETag               string  `json:"@odata.etag,omitzero"`
	ID                 string  `json:"id,omitzero"`
	DocumentID         string  `json:"documentId,omitzero"`
	Sequence           int     `json:"sequence,omitzero"`
	ItemID             string  `json:"itemId,omitzero"`
	LineType           string  `json:"lineType,omitzero"` // Comment, Account, Item, …
	LineObjectNumber   string  `json:"lineObjectNumber,omitzero"`
	Description        string  `json:"description,omitzero"`
	UnitOfMeasureCode  string  `json:"unitOfMeasureCode,omitzero"`
	Quantity           float64 `json:"quantity,omitzero"`
	UnitPrice          float64 `json:"unitPrice,omitzero"`
	DiscountPercent    float64 `json:"discountPercent,omitzero"`
	AmountExcludingTax float64 `json:"amountExcludingTax,omitzero"`
	AmountIncludingTax float64 `json:"amountIncludingTax,omitzero"`
	ShippedQuantity    float64 `json:"shippedQuantity,omitzero"`
	InvoicedQuantity   float64 `json:"invoicedQuantity,omitzero"`
}

// SalesDocument is the header of salesOrders, salesQuotes and salesInvoices
// (the fields they share); lines go in the set's own line navigation for
// deep insert and $expand.
type SalesDocument struct {
	ETag                    string              `json:"@odata.etag,omitzero"`
	ID                      string              `json:"id,omitzero"`
	Number                  string              `json:"number,omitzero"`
	ExternalDocumentNumber  string              `json:"externalDocumentNumber,omitzero"`
	OrderDate               string              `json:"orderDate,omitzero"`    // orders: Edm.Date
	DocumentDate            string              `json:"documentDate,omitzero"` // quotes
	InvoiceDate             string              `json:"invoiceDate,omitzero"`  // invoices
	PostingDate             string              `json:"postingDate,omitzero"`
	CustomerID              string              `json:"customerId,omitzero"`
	CustomerNumber          string              `json:"customerNumber,omitzero"`
	CustomerName            string              `json:"customerName,omitzero"`
	CurrencyCode            string              `json:"currencyCode,omitzero"`
	Salesperson             string              `json:"salesperson,omitzero"`
	TotalAmountExcludingTax float64             `json:"totalAmountExcludingTax,omitzero"`
	TotalAmountIncludingTax float64             `json:"totalAmountIncludingTax,omitzero"`
	Status                  string              `json:"status,omitzero"`
	FullyShipped            bool                `json:"fullyShipped,omitzero"`
	LastModifiedDateTime    time.Time           `json:"lastModifiedDateTime,omitzero"`
	SalesOrderLines         []SalesDocumentLine `json:"salesOrderLines,omitzero"`
	SalesQuoteLines         []SalesDocumentLine `json:"salesQuoteLines,omitzero"`
	SalesInvoiceLines       []SalesDocumentLine `json:"salesInvoiceLines,omitzero"`
}

// ItemLedgerEntry is a record of itemLedgerEntries (read-only).
type ItemLedgerEntry struct {
	ID                   string    `json:"id"`
	EntryNumber          int       `json:"entryNumber"`
	ItemNumber           string    `json:"itemNumber"`
	PostingDate          string    `json:"postingDate"`
	EntryType            string    `json:"entryType"`
	DocumentNumber       string    `json:"documentNumber"`
	Quantity             float64   `json:"quantity"`
	LastModifiedDateTime time.Time `json:"lastModifiedDateTime,omitzero"`
}

// ListAs is List decoding each page into T.
func ListAs[T any](ctx context.Context, c *Client, entitySet string, q Query, fn func([]T) error) error {
	return c.List(ctx, entitySet, q, func(page []json.RawMessage) error {
		out, err := decodeAll[T](entitySet, page)
		if err != nil {
			return err
		}
		return fn(out)
	})
}

// GetAs is Get decoding into T.
func GetAs[T any](ctx context.Context, c *Client, entitySet, id string, q Query) (T, error) {
	var v T
	raw, err := c.Get(ctx, entitySet, id, q)
	if err != nil {
		return v, err
	}
	if err := json.Unmarshal(raw, &v); err != nil {
		return v, fmt.Errorf("bc: decoding %s(%s): %w", entitySet, id, err)
	}
	return v, nil
}

// CreateAs is Create with a typed body and answer.
func CreateAs[T any](ctx context.Context, c *Client, entitySet string, v T) (T, error) {
	var out T
	raw, err := c.Create(ctx, entitySet, v)
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("bc: decoding created %s: %w", entitySet, err)
	}
	return out, nil
}

func decodeAll[T any](set string, page []json.RawMessage) ([]T, error) {
	out := make([]T, len(page))
	for i, r := range page {
		if err := json.Unmarshal(r, &out[i]); err != nil {
			return nil, fmt.Errorf("bc: decoding %s record %d (id %q): %w", set, i+1, ID(r), err)
		}
	}
	return out, nil
}
