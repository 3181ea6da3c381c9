package jobs

import (
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"
)

// ActiveStates are the states of a job that has not finished: queued,
// waiting for a retry, or running.
var ActiveStates = []rivertype.JobState{
	rivertype.JobStateAvailable,
	rivertype.JobStatePending,
	rivertype.JobStateRetryable,
	rivertype.JobStateRunning,
	rivertype.JobStateScheduled,
}

// UniqueWhileActive makes a job unique by its args among unfinished jobs
// only. River's default ByState also counts completed jobs, which stay in
// river_job for a day: a periodic tick or a "sync now" unique by args
// would then be skipped for 24 hours after its first run.
func UniqueWhileActive() river.UniqueOpts {
	return river.UniqueOpts{ByArgs: true, ByState: ActiveStates}
}
