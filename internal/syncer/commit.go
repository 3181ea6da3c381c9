package syncer

import (
	"context"
	"sync"
)

// committer folds the store transactions of a run's chunks in flight into
// one (group commit). With four $batches in flight, a chunk's outcome and
// the next chunk's intents are often ready while another transaction
// commits; they then share the next commit, and its fsync, instead of
// queueing for one each. Each request still commits before its caller
// goes on: intents before their write is sent, a chunk's couplings together
// with the deletion of its intents, so what a crash leaves behind is what
// it was without grouping.
type committer struct {
	st Store

	mu      sync.Mutex
	queue   []*commitReq
	running bool // a caller is committing the queue
}

type commitReq struct {
	fn   func(ctx context.Context, tx Store) error
	done chan commitResult
}

// commitResult answers a request: its error, or lead when its caller is to
// commit what was queued meanwhile.
type commitResult struct {
	err  error
	lead bool
}

// do runs fn in a transaction, possibly shared with other requests, and
// returns once that transaction has committed or fn's own work has failed.
// fn may run twice (see commit), so it must only write through tx and
// set its results afresh each time.
func (c *committer) do(ctx context.Context, fn func(ctx context.Context, tx Store) error) error {
	req := &commitReq{fn: fn, done: make(chan commitResult, 1)}
	c.mu.Lock()
	c.queue = append(c.queue, req)
	if c.running {
		c.mu.Unlock()
		res := <-req.done
		if !res.lead {
			return res.err
		}
		c.mu.Lock()
	}
	// This caller commits one batch: everything queued, its own request
	// first or among them.
	c.running = true
	batch := c.queue
	c.queue = nil
	c.mu.Unlock()
	c.commit(ctx, batch)

	// Hand what arrived meanwhile to the first waiting caller, so that no
	// caller commits for others for long while its own chunk waits.
	c.mu.Lock()
	if len(c.queue) > 0 {
		c.queue[0].done <- commitResult{lead: true} // it stays queued, in the batch it commits
	} else {
		c.running = false
	}
	c.mu.Unlock()
	return (<-req.done).err
}

// commit runs the batch in one transaction. When it fails and holds more
// than one request, each is retried alone: one chunk's conflict must not
// fail the chunks it happened to share a transaction with.
func (c *committer) commit(ctx context.Context, batch []*commitReq) {
	err := c.st.Atomically(ctx, func(ctx context.Context, tx Store) error {
		for _, r := range batch {
			if err := r.fn(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err == nil || len(batch) == 1 {
		for _, r := range batch {
			r.done <- commitResult{err: err}
		}
		return
	}
	for _, r := range batch {
		r.done <- commitResult{err: c.st.Atomically(ctx, r.fn)}
	}
}
