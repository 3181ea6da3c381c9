package syncer

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
)

// A table run reads the mapped columns only: CRM lookups by their _x_value
// name (the only one Dataverse reads them by), option columns mapped
// through a lookup by their own name, constants not at all; and every
// column when the catalog does not know one of them.
func TestReadColumnsAreTheMappedOnes(t *testing.T) {
	t.Parallel()
	m, ok := mapping.Default(mapping.Customer)
	require.True(t, ok)

	crm := crmColumns(&m)
	require.Contains(t, crm, "name")
	require.Contains(t, crm, "_ownerid_value")
	require.Contains(t, crm, "paymenttermscode")
	require.NotContains(t, crm, "ownerid")
	require.NotContains(t, crm, "customertypecode") // a constant: written, never read

	erp := erpColumns(&m)
	require.Contains(t, erp, "number") // the code field
	require.Contains(t, erp, "salespersonCode")
	require.Len(t, erp, len(uniqueERPFields(m)))

	custom := m
	custom.Fields = append(append([]mapping.FieldMapping(nil), m.Fields...),
		mapping.FieldMapping{ERPField: "cplRating", CRMField: "cpl_rating", Direction: mapping.Bidirectional})
	require.ElementsMatch(t, []string{"accountnumber", "name"}, crmMatchColumns(&m), "a fresh run's CRM read: the match fields")
	require.Nil(t, crmColumns(&custom), "a column the catalog does not know: read every column")
	require.Nil(t, crmMatchColumns(&custom))
	require.Nil(t, erpColumns(&custom))

	other := m
	other.CRMEntity, other.ERPEntity = "cpl_thing", "things"
	require.Nil(t, crmColumns(&other))
	require.Nil(t, erpColumns(&other))
}

func uniqueERPFields(m mapping.TableMapping) map[string]bool {
	out := map[string]bool{m.ERPCodeField: true}
	for _, f := range m.Fields {
		if f.ERPField != "" && f.Constant == nil {
			out[f.ERPField] = true
		}
	}
	return out
}
