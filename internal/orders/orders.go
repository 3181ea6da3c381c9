// Package orders turns submitted CRM sales orders (and active quotes) into
// ERP sales documents exactly once, and reports the ERP's progress back to
// the CRM order: Business Central's legacy sales order integration
// (codeunits 5343, 5348, 5349; anchor §6) over the two Web APIs.
package orders

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/store"
)

// Document kinds in the store.
const (
	KindOrder = "order"
	KindQuote = "quote"
)

// Settings keys in the store that the orders package reads.
const (
	// SettingWriteInItem is the ERP item number write-in CRM lines become
	// (BC's Sales & Receivables "Write-in Product No.").
	SettingWriteInItem = "sales_orders.write_in_item"
	// SettingFreightItem is the ERP item number a CRM freight amount becomes.
	SettingFreightItem = "sales_orders.freight_item"
	// SettingLocalCurrency is the ERP's local currency code (e.g. GBP): the
	// currency of customers whose currency code is empty. BC's API v2.0 does
	// not expose it, so the check of such customers needs this setting.
	SettingLocalCurrency = "sales_orders.local_currency"
)

// ErrRefused marks an order that cannot become an ERP order as it stands
// (uncoupled customer, write-in without a configured item, …): the message
// says what to fix; other orders go on.
var ErrRefused = errors.New("order refused")

// Options wire a Service.
type Options struct {
	CRM    *dataverse.Client
	ERP    *bc.Client
	Store  store.Store
	Logger *slog.Logger
	Now    func() time.Time
	// Lease is how long one worker holds an order while creating it; a
	// crashed worker's order is taken over after it (default 2 minutes).
	Lease time.Duration
	// BeforePost, when set, runs after the intent is recorded and before the
	// ERP write: tests use it to inject a crash at the worst moment.
	BeforePost func(crmNumber string) error
	// AfterPost, when set, runs after the ERP write and before it is
	// recorded (the other worst moment).
	AfterPost func(crmNumber string) error
}

// Service processes CRM orders and quotes.
type Service struct {
	o   Options
	log *slog.Logger

	currencies sync.Map // CRM transactioncurrencyid → ISO code
	customers  sync.Map // ERP customer id → cachedCustomer
	products   sync.Map // CRM productid → crmProduct (products not coupled to an item)
}

// New checks the options.
func New(o Options) (*Service, error) {
	if o.CRM == nil || o.ERP == nil || o.Store == nil || o.Logger == nil {
		return nil, errors.New("orders: CRM client, ERP client, store and logger are required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Lease <= 0 {
		o.Lease = 2 * time.Minute
	}
	return &Service{o: o, log: o.Logger}, nil
}

// Outcome is what happened to one CRM document in a run.
type Outcome struct {
	CRMID     string `json:"crm_id"`
	CRMNumber string `json:"crm_number"`
	Name      string `json:"name"`
	Result    string `json:"result"` // created, existing, adopted, failed, busy
	ERPNumber string `json:"erp_number,omitempty"`
	Error     string `json:"error,omitempty"`
}

// setting reads an optional store setting.
func (s *Service) setting(ctx context.Context, key string) (string, error) {
	v, err := s.o.Store.GetSetting(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("orders: read setting %s: %w", key, err)
	}
	return v, nil
}
