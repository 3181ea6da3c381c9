package syncer

import "context"

// readAhead reads q from side and hands each page to fn, reading the next
// page while fn works on the current one: a run writes a page's records
// in batches, and without it the ERP read of the next page waited for the
// last batch of each page. At most one page waits beside the one in fn:
// the hand-over is unbuffered, since a buffered page let the reader
// decode a third (at 5,000 ERP records a page, some 20 MB each).
// fn's error stops the read; the read's error is returned after the pages
// read before it were handled.
func readAhead(ctx context.Context, side Side, q ReadQuery, fn func([]Record) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan []Record)
	readErr := make(chan error, 1)
	go func() {
		defer close(pages)
		readErr <- side.Read(ctx, q, func(page []Record) error {
			select {
			case pages <- page:
				return nil
			case <-ctx.Done():
				return ctx.Err()
			}
		})
	}()
	for page := range pages {
		if err := fn(page); err != nil {
			cancel()
			for range pages { // let the reader see the cancellation and end
			}
			<-readErr
			return err
		}
	}
	return <-readErr
}
