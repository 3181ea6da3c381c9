package storetest

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/mapping"
	"github.com/coupler/coupler/internal/setup"
	"github.com/coupler/coupler/internal/store"
)

func testSettings(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetSetting(c, "encryption")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorContains(t, err, "encryption")

	require.NoError(t, s.PutSetting(c, "encryption", "off"))
	require.NoError(t, s.PutSetting(c, "encryption", "on"))
	require.NoError(t, s.PutSetting(c, "empty", ""))
	v, err := s.GetSetting(c, "encryption")
	require.NoError(t, err)
	require.Equal(t, "on", v)
	v, err = s.GetSetting(c, "empty")
	require.NoError(t, err)
	require.Equal(t, "", v)

	require.ErrorIs(t, s.PutSetting(c, "", "x"), store.ErrInvalid)
}

func testSecrets(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetSecret(c, "default", "crm_password")
	require.ErrorIs(t, err, store.ErrNotFound)

	before := time.Now().Add(-time.Second)
	in := store.Secret{Owner: "default", Name: "crm_password", Value: []byte{0, 1, 2, 255}, Encrypted: true, KeyID: "k1"}
	require.NoError(t, s.PutSecret(c, in))
	require.NoError(t, s.PutSecret(c, store.Secret{Owner: "a", Name: "z", Value: []byte("plain")}))
	require.NoError(t, s.PutSecret(c, store.Secret{Owner: "a", Name: "b"}))
	require.NoError(t, s.PutSecret(c, store.Secret{Owner: "a", Name: "B"}))

	got, err := s.GetSecret(c, "default", "crm_password")
	require.NoError(t, err)
	require.Equal(t, in.Value, got.Value)
	require.True(t, got.Encrypted)
	require.Equal(t, "k1", got.KeyID)
	require.True(t, got.UpdatedAt.After(before), "UpdatedAt %v is set at put", got.UpdatedAt)

	// Replace: now plaintext under no key.
	require.NoError(t, s.PutSecret(c, store.Secret{Owner: "default", Name: "crm_password", Value: []byte("p")}))
	got, err = s.GetSecret(c, "default", "crm_password")
	require.NoError(t, err)
	require.Equal(t, []byte("p"), got.Value)
	require.False(t, got.Encrypted)
	require.Empty(t, got.KeyID)

	list, err := s.ListSecrets(c)
	require.NoError(t, err)
	var names []string
	for _, x := range list {
		names = append(names, x.Owner+"/"+x.Name)
	}
	require.Equal(t, []string{"a/B", "a/b", "a/z", "default/crm_password"}, names, "byte order on every database")
	require.Empty(t, list[0].Value)

	require.NoError(t, s.DeleteSecret(c, "a", "z"))
	require.ErrorIs(t, s.DeleteSecret(c, "a", "z"), store.ErrNotFound)
	_, err = s.GetSecret(c, "a", "z")
	require.ErrorIs(t, err, store.ErrNotFound)

	require.ErrorIs(t, s.PutSecret(c, store.Secret{Owner: "x"}), store.ErrInvalid)
	require.ErrorIs(t, s.PutSecret(c, store.Secret{Name: "x"}), store.ErrInvalid)
}

func testConnections(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetConnection(c, "default")
	require.ErrorIs(t, err, store.ErrNotFound)

	in := setup.ConnectionSetup{
		Name:    "default",
		Enabled: true,
		CRM: setup.CRMSettings{URL: "https://contoso.crm4.dynamics.com", AuthType: setup.AuthOAuth, UserName: "svc@contoso.com",
			ConnectionString: "AuthType=OAuth;Password={PASSWORD}", APIVersion: "9.2", ImportSolution: true},
		ERP:               setup.ERPSettings{APIURL: "https://api.businesscentral.dynamics.com/v2.0/t/production/api/v2.0", CompanyID: "c0ffee", AuthType: "oauth"},
		Availability:      setup.AvailabilitySettings{Enabled: true, ODataURL: "https://coupler.example/odata"},
		SalesOrders:       setup.SalesOrderSettings{Enabled: true, AutoCreate: true},
		UsersMustMapToCRM: true,
		LastTest:          setup.TestFacts{At: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), OK: true, Summary: "all good ✓"},
		DisableReason:     "",
	}
	before := time.Now().Add(-time.Second)
	require.NoError(t, s.PutConnection(c, in))
	got, err := s.GetConnection(c, "default")
	require.NoError(t, err)
	require.True(t, got.UpdatedAt.After(before))
	in.UpdatedAt = got.UpdatedAt
	require.True(t, in.LastTest.At.Equal(got.LastTest.At))
	in.LastTest.At = got.LastTest.At
	require.Equal(t, in, got)

	in.Enabled = false
	in.DisableReason = "disabled by admin"
	require.NoError(t, s.PutConnection(c, in))
	require.NoError(t, s.PutConnection(c, setup.ConnectionSetup{Name: "b-company"}))
	list, err := s.ListConnections(c)
	require.NoError(t, err)
	require.Len(t, list, 2)
	require.Equal(t, "b-company", list[0].Name)
	require.Equal(t, "default", list[1].Name)
	require.False(t, list[1].Enabled)
	require.Equal(t, "disabled by admin", list[1].DisableReason)

	require.ErrorIs(t, s.PutConnection(c, setup.ConnectionSetup{}), store.ErrInvalid)
}

func testMappings(t *testing.T, s store.Store) {
	c := ctx(t)
	_, err := s.GetMapping(c, "CUSTOMER")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.DeleteMapping(c, "CUSTOMER"), store.ErrNotFound)

	in := mapping.TableMapping{
		Name: "CUSTOMER", ERPEntity: "customers", CRMEntity: "account", Direction: mapping.Bidirectional,
		ERPFilter: "blocked eq ' '", DependsOn: []string{"SALESPEOPLE", "CURRENCY"}, Conflict: mapping.ConflictERP,
		Deletion: mapping.DeletionUncouple, Interval: mapping.Duration(30 * time.Minute), SkipAfter: 3,
		Fields: []mapping.FieldMapping{
			{ERPField: "displayName", CRMField: "name", Direction: mapping.Bidirectional, Required: true},
			{ERPField: "blocked", CRMField: "statecode", Direction: mapping.ToCRM, OptionMap: map[string]int{" ": 0, "All": 1}},
			{CRMField: "customertypecode", Constant: "3", Direction: mapping.ToCRM},
		},
	}
	require.NoError(t, s.PutMapping(c, in))
	require.NoError(t, s.PutMapping(c, mapping.TableMapping{Name: "ITEM-PRODUCT", ERPEntity: "items"}))
	require.NoError(t, s.PutMapping(c, mapping.TableMapping{Name: "customer-lowercase"}))
	got, err := s.GetMapping(c, "CUSTOMER")
	require.NoError(t, err)
	require.False(t, got.UpdatedAt.IsZero())
	in.UpdatedAt = got.UpdatedAt
	require.Equal(t, in, got)

	list, err := s.ListMappings(c)
	require.NoError(t, err)
	require.Len(t, list, 3)
	require.Equal(t, "CUSTOMER", list[0].Name)
	require.Equal(t, "ITEM-PRODUCT", list[1].Name)
	require.Equal(t, "customer-lowercase", list[2].Name, "byte order on every database")

	require.NoError(t, s.DeleteMapping(c, "CUSTOMER"))
	_, err = s.GetMapping(c, "CUSTOMER")
	require.ErrorIs(t, err, store.ErrNotFound)
	require.ErrorIs(t, s.PutMapping(c, mapping.TableMapping{}), store.ErrInvalid)
}
