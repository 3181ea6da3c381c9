package syncer

import (
	"context"
	"fmt"
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
//
// A flow's outcomes are the exception (see later): they wait for the
// flush that comes before their page's checkpoint.
type committer struct {
	st Store

	mu      sync.Mutex
	queue   []*commitReq
	running bool // a caller is committing the queue

	flushMu sync.Mutex // one flush at a time: a checkpoint's flush covers every outcome queued before it
	pending []func(ctx context.Context, tx Store) error
}

// laterMax bounds the outcomes a flow queues: the next batch's outcome
// flushes them whatever its page (about 7 MB of couplings at 1,000 per batch).
const laterMax = 8

// later queues fn, a flow batch's outcome, for the next flush instead of
// committing it now, and returns how many are queued. A batch of 1,000
// new couplings touches some 1,500 pages of the two indexes of random
// ids, which its commit then wrote to the WAL: five batches in one commit
// write little more than one did (BenchmarkChunkOutcomesGrouped). What a crash
// leaves is still reconciled: the batch's intents are deleted by fn, so
// they stay until it commits, and its page is not checkpointed before.
func (c *committer) later(fn func(ctx context.Context, tx Store) error) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.pending = append(c.pending, fn)
	return len(c.pending)
}

// flush commits the queued outcomes in one transaction, in their order.
// It returns once every outcome queued before the call is committed,
// including those a concurrent flush took.
func (c *committer) flush(ctx context.Context) error {
	c.flushMu.Lock()
	defer c.flushMu.Unlock()
	c.mu.Lock()
	fns := c.pending
	c.pending = nil
	c.mu.Unlock()
	if len(fns) == 0 {
		return nil
	}
	err := c.do(ctx, func(ctx context.Context, tx Store) error {
		for _, fn := range fns {
			if err := fn(ctx, tx); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("record the outcomes of %d batch(es): %w", len(fns), err)
	}
	return nil
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
