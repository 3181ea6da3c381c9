package orders

import (
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/bc"
)

func TestMissingResource(t *testing.T) {
	t.Parallel()
	o := crmOrder{Number: "ORD-7"}
	services := []serviceLine{{Line: 2, Product: "Assembly", Resource: "ASSEMBLY"}, {Line: 4, Product: "Design", Resource: "Lina"}}
	refusal := func(no string) error {
		return fmt.Errorf("orders: create: %w", &bc.APIError{Status: 400, Code: "Application_DialogException",
			Message: "The Resource does not exist. Identification fields and values: No.='" + no + "'"})
	}
	tests := []struct {
		name     string
		err      error
		wantLine int // 0: not a missing resource of this document
	}{
		{"first service line", refusal("ASSEMBLY"), 2},
		{"number case differs", refusal("LINA"), 4},
		{"a resource no line asked for", refusal("MARTY"), 0},
		{"another refusal", &bc.APIError{Status: 400, Code: "Application_DialogException", Message: "Item does not exist."}, 0},
		{"not the ERP's answer", errors.New("connection reset"), 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			err := missingResource(KindOrder, o, services, tc.err)
			if tc.wantLine == 0 {
				require.NoError(t, err)
				return
			}
			var mr *MissingResourceError
			require.ErrorAs(t, err, &mr)
			require.Equal(t, tc.wantLine, mr.Line)
			require.ErrorIs(t, err, ErrRefused, "a refusal: the run goes on")
			var api *bc.APIError
			require.ErrorAs(t, err, &api, "the ERP's answer is kept")
			require.Contains(t, err.Error(), fmt.Sprintf("order refused: CRM order ORD-7 line %d: the service product", tc.wantLine))
		})
	}
}
