package daemon

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/coupler/coupler/internal/config"
	"github.com/coupler/coupler/internal/ratelimit"
	"github.com/coupler/coupler/internal/store/storetest"
)

// On PostgreSQL the engine's clients take their turns from the buckets the
// instances share; on SQLite (one instance) each keeps its own limiter.
func TestEngineBudgetFollowsTheStore(t *testing.T) {
	t.Parallel()
	for name, db := range map[string]func(t *testing.T, cfg *config.Config){
		"sqlite":   func(t *testing.T, cfg *config.Config) {},
		"postgres": func(t *testing.T, cfg *config.Config) { cfg.DatabaseURL = storetest.PostgresURL(t) },
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			cfg := config.Default()
			cfg.HTTP.Addr = "127.0.0.1:0"
			cfg.DataDir = t.TempDir()
			db(t, &cfg)
			r := start(t, cfg, nil)
			defer r.shutdown(t)
			if name == "sqlite" {
				require.Nil(t, r.d.engines.pacers)
				return
			}
			require.NotNil(t, r.d.engines.pacers)
			p, err := r.d.engines.pacers("default", ratelimit.ServiceDataverse, "u")
			require.NoError(t, err)
			require.IsType(t, &ratelimit.Bucket{}, p)
		})
	}
}
