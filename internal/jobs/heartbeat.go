package jobs

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/coupler/coupler/internal/store"
)

// HeartbeatSetting is the store setting where the heartbeat job writes the
// time it last ran (RFC 3339, UTC): proof that the scheduler and the workers
// are alive, visible to operators.
const HeartbeatSetting = "jobs.heartbeat.last_run"

// HeartbeatArgs is the periodic heartbeat job.
type HeartbeatArgs struct{}

// Kind names the job in River's tables.
func (HeartbeatArgs) Kind() string { return "heartbeat" }

type heartbeatWorker struct {
	river.WorkerDefaults[HeartbeatArgs]
	st store.Store
}

func (w *heartbeatWorker) Work(ctx context.Context, job *river.Job[HeartbeatArgs]) error {
	now := time.Now().UTC().Format(time.RFC3339Nano)
	if err := w.st.PutSetting(ctx, HeartbeatSetting, now); err != nil {
		return fmt.Errorf("heartbeat: %w", err)
	}
	return nil
}

// LastHeartbeat is when the heartbeat job last ran; ErrNotFound before the
// first run.
func LastHeartbeat(ctx context.Context, st store.Store) (time.Time, error) {
	v, err := st.GetSetting(ctx, HeartbeatSetting)
	if err != nil {
		return time.Time{}, err
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("jobs: setting %s holds %q, not a time: %w", HeartbeatSetting, v, err)
	}
	return t, nil
}
