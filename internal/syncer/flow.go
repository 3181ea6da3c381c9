package syncer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"
)

// flow writes the records of successive source pages with up to Concurrency
// $batches in flight across page boundaries. Writing a page and waiting for
// all of its batches left the other slots idle while its last batch ran
// (a page of 5,000 is five batches of 1,000 for four slots) and while the
// next page was read and prepared. The read waits for a free slot instead,
// so a page is read while the previous one's batches are in flight and no
// more than two pages are held. Each page is checkpointed, in read order,
// once all of its batches are recorded.
type flow struct {
	size       int                                                      // records per batch
	build      func(ctx context.Context, chunk []item) []item           // payloads of a batch, just before it goes (nil: as they are)
	write      func(ctx context.Context, chunk []item) error            // one batch, outcome recorded
	checkpoint func(ctx context.Context, n int, latest time.Time) error // a page fully written
	flush      func(ctx context.Context) error                          // records the outcomes write left queued (nil: it queues none)
	sem        chan struct{}
	wg         sync.WaitGroup

	mu    sync.Mutex
	errs  []error
	pages []*flowPage // sent and not checkpointed yet, in read order
}

// errFlowStopped stops the read once a batch has failed; wait returns why,
// which is what the run reports: this error never reaches a user.
var errFlowStopped = errors.New("syncer: flow stopped: a batch failed")

type flowPage struct {
	left atomic.Int32 // batches not recorded yet
	max  time.Time    // latest modification of the page: its checkpoint
	n    int          // records read, for progress
}

func newFlow(r *run, toCRM bool) *flow {
	_, dst := r.e.sides(toCRM)
	src := SideERP
	if !toCRM {
		src = SideCRM
	}
	f := &flow{
		size:  r.e.batchSize(dst),
		sem:   make(chan struct{}, max(1, r.e.opts.Concurrency)),
		write: func(ctx context.Context, chunk []item) error { return r.writeChunk(ctx, toCRM, chunk, true) },
		checkpoint: func(ctx context.Context, n int, latest time.Time) error {
			// The page's outcomes are committed before its checkpoint.
			if err := r.commits.flush(ctx); err != nil {
				return err
			}
			r.progress(n)
			return r.advance(ctx, src, latest)
		},
		flush: r.commits.flush,
	}
	if toCRM {
		f.build = r.buildToCRM
	}
	return f
}

// send starts writing a page's items, waiting for a free slot for each
// batch; n is the records read and latest the page's checkpoint.
func (f *flow) send(ctx context.Context, items []item, n int, latest time.Time) error {
	size := f.size
	p := &flowPage{max: latest, n: n}
	p.left.Store(int32((len(items) + size - 1) / size))
	f.mu.Lock()
	f.pages = append(f.pages, p)
	f.mu.Unlock()
	for i := 0; i < len(items); i += size {
		chunk := items[i:min(i+size, len(items))]
		select {
		case f.sem <- struct{}{}:
		case <-ctx.Done():
			return ctx.Err()
		}
		if f.failed() != nil {
			<-f.sem
			return errFlowStopped
		}
		if f.build != nil {
			// Made once a slot is free: the payloads waiting for one
			// would be held for nothing.
			if chunk = f.build(ctx, chunk); len(chunk) == 0 {
				<-f.sem
				p.left.Add(-1)
				continue
			}
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer func() { <-f.sem }()
			// The page's items outlive this batch until its last one is
			// written: let go of this batch's payloads and records now.
			defer clear(chunk)
			if err := f.write(ctx, chunk); err != nil {
				f.mu.Lock()
				f.errs = append(f.errs, err)
				f.mu.Unlock()
				return
			}
			p.left.Add(-1)
		}()
	}
	return nil
}

func (f *flow) failed() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return errors.Join(f.errs...)
}

// settle checkpoints, in read order, the pages whose batches are all
// recorded; a page waits for the pages read before it.
func (f *flow) settle(ctx context.Context) error {
	for {
		f.mu.Lock()
		if len(f.pages) == 0 || f.pages[0].left.Load() > 0 {
			f.mu.Unlock()
			return nil
		}
		p := f.pages[0]
		f.pages = f.pages[1:]
		f.mu.Unlock()
		if err := f.checkpoint(ctx, p.n, p.max); err != nil {
			return err
		}
	}
}

// wait waits for every batch in flight and returns their errors.
func (f *flow) wait() error {
	f.wg.Wait()
	return f.failed()
}
