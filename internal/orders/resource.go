package orders

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/coupler/coupler/internal/bc"
	"github.com/coupler/coupler/internal/dataverse"
	"github.com/coupler/coupler/internal/mapping"
)

// productTypeServices is a CRM product's producttypecode for services
// (1 Sales Inventory, 2 Miscellaneous Charges, 3 Services, 4 Flat Fees).
// BC's order integration makes a Resource line of such a product.
const productTypeServices = 3

// maxResourceNumber is the length of a BC Resource's No. (Code[20]).
const maxResourceNumber = 20

// productTTL is how long a read CRM product is reused within a run of many
// orders; a product whose type is changed meanwhile is seen by a later run.
const productTTL = 30 * time.Second

// crmProduct is what coupler reads of a CRM product that is not coupled to
// an ERP item.
type crmProduct struct {
	Number, Name string
	Type         int
	at           time.Time
}

// serviceLine remembers which CRM line became which Resource line, so that
// the ERP's refusal of a resource number can name the line and its product.
type serviceLine struct {
	Line     int // 1-based, in CRM line order
	Product  string
	Resource string
}

// MissingResourceError is the ERP's refusal of a CRM document because no ERP
// resource has the number of one of its service products. It is a refusal
// (errors.Is(err, ErrRefused)): that document fails and the run goes on.
type MissingResourceError struct {
	Kind, Number string // KindOrder or KindQuote, and the CRM number
	Line         int    // 1-based CRM line
	Product      string // CRM product name
	Resource     string // the ERP resource number asked for (the product number)
	Err          error  // the ERP's answer
}

func (e *MissingResourceError) Error() string {
	return refusedf("CRM %s %s line %d: the service product %q becomes ERP resource %s (its product number), and the ERP has no such resource: create a resource numbered %s in the ERP, or change the product's type in the CRM to Sales Inventory and couple it to an ERP item (mapping %s), then run it again",
		e.Kind, e.Number, e.Line, e.Product, e.Resource, e.Resource, mapping.ItemProduct).Error()
}

// Is makes the error a refusal.
func (e *MissingResourceError) Is(target error) bool { return target == ErrRefused }

// Unwrap gives the ERP's answer.
func (e *MissingResourceError) Unwrap() error { return e.Err }

// product reads a CRM product's number, name and type.
func (s *Service) product(ctx context.Context, id string) (crmProduct, error) {
	if v, ok := s.products.Load(id); ok {
		if p := v.(crmProduct); s.o.Now().Sub(p.at) < productTTL {
			return p, nil
		}
	}
	r, err := s.o.CRM.Retrieve(ctx, "products", dataverse.ID(id), "productnumber", "name", "producttypecode")
	if err != nil {
		return crmProduct{}, err
	}
	p := crmProduct{Number: r.String("productnumber"), Name: r.String("name"), Type: int(num(r, "producttypecode")), at: s.o.Now()}
	s.products.Store(id, p)
	return p, nil
}

// uncoupledProductLine fills the ERP line of a CRM line whose product is not
// coupled to an ERP item: a service product becomes a Resource line whose
// number is the product number (BC's RESOURCE-PRODUCT couples by number);
// any other product is refused as uncoupled.
func (s *Service) uncoupledProductLine(ctx context.Context, kind string, o crmOrder, i int, l crmLine, line map[string]any) (serviceLine, error) {
	p, err := s.product(ctx, l.ProductID)
	if err != nil {
		return serviceLine{}, fmt.Errorf("orders: read product %s of CRM %s %s line %d: %w", l.ProductID, kind, o.Number, i+1, err)
	}
	if p.Type != productTypeServices {
		return serviceLine{}, refusedf("CRM %s %s line %d: product %s is not coupled to an ERP item: couple it (mapping %s)", kind, o.Number, i+1, l.ProductID, mapping.ItemProduct)
	}
	if p.Number == "" || utf8.RuneCountInString(p.Number) > maxResourceNumber {
		return serviceLine{}, refusedf("CRM %s %s line %d: the service product %q has the product number %q, which cannot be an ERP resource number (1 to %d characters): give the product the number of its ERP resource", kind, o.Number, i+1, p.Name, p.Number, maxResourceNumber)
	}
	line["lineType"], line["lineObjectNumber"] = "Resource", p.Number
	return serviceLine{Line: i + 1, Product: p.Name, Resource: p.Number}, nil
}

// missingResourceRe finds the number in BC's refusal of a Resource line's No.
var missingResourceRe = regexp.MustCompile(`The Resource does not exist\. Identification fields and values: No\.='([^']*)'`)

// missingResource turns the ERP's refusal of a resource number into a
// MissingResourceError naming the CRM line; nil when err is something else.
func missingResource(kind string, o crmOrder, services []serviceLine, err error) error {
	var api *bc.APIError
	if !errors.As(err, &api) {
		return nil
	}
	m := missingResourceRe.FindStringSubmatch(api.Message)
	if m == nil {
		return nil
	}
	for _, sl := range services {
		if strings.EqualFold(sl.Resource, m[1]) {
			return &MissingResourceError{Kind: kind, Number: o.Number, Line: sl.Line, Product: sl.Product, Resource: sl.Resource, Err: err}
		}
	}
	return nil
}
