package syncer

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
)

// The error of an unresolved reference is written only when read: it must
// still say which record, by what and what to do, and be ErrUnresolved.
func TestUnresolvedError(t *testing.T) {
	t.Parallel()
	tm := &mapping.TableMapping{Name: "CURRENCY", ERPEntity: "currencies", CRMEntity: "transactioncurrency"}
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"by id", &unresolvedError{tm: tm, value: "c-1"},
			`the ERP currencies "c-1" is not coupled to a CRM transactioncurrency (mapping CURRENCY): couple it with coupler couple "CURRENCY" <erp-id> <crm-id> or coupler match "CURRENCY", or synchronise CURRENCY first: reference is not coupled`},
		{"by field", &unresolvedError{tm: tm, by: "code", value: "XYZ"},
			`no ERP currencies has code "XYZ" (mapping CURRENCY): reference is not coupled`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, tt.err.Error())
			require.True(t, errors.Is(tt.err, mapping.ErrUnresolved))
		})
	}
}
