package syncer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// heldWrites is a flow's write that waits until the test releases each
// batch (named by its first item), and fails the batches named in fail.
type heldWrites struct {
	mu       sync.Mutex
	release  map[string]chan struct{}
	fail     map[string]error
	inFlight atomic.Int32
	most     atomic.Int32
	started  atomic.Int32
}

func newHeldWrites() *heldWrites {
	return &heldWrites{release: map[string]chan struct{}{}, fail: map[string]error{}}
}

func (h *heldWrites) gate(name string) chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.release[name] == nil {
		h.release[name] = make(chan struct{})
	}
	return h.release[name]
}

func (h *heldWrites) write(ctx context.Context, chunk []item) error {
	n := h.inFlight.Add(1)
	defer h.inFlight.Add(-1)
	for m := h.most.Load(); n > m && !h.most.CompareAndSwap(m, n); m = h.most.Load() {
	}
	h.started.Add(1)
	name := chunk[0].srcID
	select {
	case <-h.gate(name):
	case <-ctx.Done():
		return ctx.Err()
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.fail[name]
}

type checkpoints struct {
	mu  sync.Mutex
	got []string // "n@latest", in order
}

func (c *checkpoints) add(_ context.Context, n int, latest time.Time) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.got = append(c.got, fmt.Sprintf("%d@%d", n, latest.Unix()))
	return nil
}

func (c *checkpoints) list() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.got...)
}

func items(prefix string, n int) []item {
	out := make([]item, n)
	for i := range out {
		out[i] = item{srcID: fmt.Sprintf("%s%d", prefix, i)}
	}
	return out
}

// setupFlow is a flow of batches of two records, two in flight.
func setupFlow(t *testing.T) (*flow, *heldWrites, *checkpoints) {
	t.Helper()
	h, c := newHeldWrites(), &checkpoints{}
	return &flow{size: 2, sem: make(chan struct{}, 2), write: h.write, checkpoint: c.add}, h, c
}

// Pages are checkpointed in read order, each once all of its batches are
// recorded: a later page written first waits for the earlier one.
func TestFlowCheckpointsInReadOrder(t *testing.T) {
	t.Parallel()
	f, h, c := setupFlow(t)
	ctx := t.Context()
	require.NoError(t, f.send(ctx, items("a", 3), 3, time.Unix(10, 0))) // batches a0, a2
	close(h.gate("a2"))
	waitFor(t, func() bool { return h.started.Load() == 2 && h.inFlight.Load() == 1 })
	require.NoError(t, f.send(ctx, items("b", 2), 2, time.Unix(20, 0))) // batch b0
	require.NoError(t, f.send(ctx, nil, 4, time.Unix(30, 0)))           // nothing to write
	close(h.gate("b0"))
	waitFor(t, func() bool { return h.inFlight.Load() == 1 })
	require.NoError(t, f.settle(ctx))
	require.Empty(t, c.list(), "page a still has a batch in flight")

	close(h.gate("a0"))
	require.NoError(t, f.wait())
	require.NoError(t, f.settle(ctx))
	require.Equal(t, []string{"3@10", "2@20", "4@30"}, c.list())
}

// A failed batch stops the sending of more, and neither its page nor any
// page after it is checkpointed; wait says why.
func TestFlowStopsAtAFailedBatch(t *testing.T) {
	t.Parallel()
	f, h, c := setupFlow(t)
	ctx := t.Context()
	refused := errors.New("record the outcome of 2 write(s): disk full")
	h.fail["a0"] = refused
	close(h.gate("a0"))
	close(h.gate("b0"))
	require.NoError(t, f.send(ctx, items("a", 2), 2, time.Unix(10, 0)))
	require.NoError(t, f.send(ctx, items("b", 2), 2, time.Unix(20, 0)))
	waitFor(t, func() bool { return f.failed() != nil })
	require.ErrorIs(t, f.send(ctx, items("c", 2), 2, time.Unix(30, 0)), errFlowStopped)
	require.ErrorIs(t, f.wait(), refused)
	require.NoError(t, f.settle(ctx))
	require.Empty(t, c.list())
	require.Equal(t, int32(2), h.started.Load(), "no batch of c was sent")
}

// No more batches are in flight than the slots, across pages: send waits
// for a free one, so the read of the next page waits too.
func TestFlowWaitsForASlot(t *testing.T) {
	t.Parallel()
	f, h, _ := setupFlow(t)
	ctx := t.Context()
	require.NoError(t, f.send(ctx, items("a", 4), 4, time.Unix(10, 0))) // a0, a2: both slots
	sent := make(chan error, 1)
	go func() { sent <- f.send(ctx, items("b", 2), 2, time.Unix(20, 0)) }()
	select {
	case err := <-sent:
		t.Fatalf("send returned (%v) with every slot taken", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(h.gate("a0"))
	require.NoError(t, <-sent)
	close(h.gate("a2"))
	close(h.gate("b0"))
	require.NoError(t, f.wait())
	require.Equal(t, int32(2), h.most.Load())
}

// A cancelled run stops waiting for a slot.
func TestFlowCancelled(t *testing.T) {
	t.Parallel()
	f, h, _ := setupFlow(t)
	ctx, cancel := context.WithCancel(t.Context())
	require.NoError(t, f.send(ctx, items("a", 4), 4, time.Unix(10, 0)))
	cancel()
	require.ErrorIs(t, f.send(ctx, items("b", 2), 2, time.Unix(20, 0)), context.Canceled)
	require.ErrorIs(t, f.wait(), context.Canceled)
	require.Equal(t, int32(2), h.started.Load())
}

// A batch's payloads are made once a slot is free for it, and a batch of
// which no record could be made is not sent: its page is checkpointed all
// the same.
func TestFlowBuildsWhenASlotIsFree(t *testing.T) {
	t.Parallel()
	f, h, c := setupFlow(t)
	var built atomic.Int32
	f.build = func(_ context.Context, chunk []item) []item {
		built.Add(int32(len(chunk)))
		if chunk[0].srcID == "b0" {
			return nil // every record of it failed to transform
		}
		return chunk
	}
	ctx := t.Context()
	require.NoError(t, f.send(ctx, items("a", 4), 4, time.Unix(10, 0)))
	sent := make(chan error, 1)
	go func() { sent <- f.send(ctx, items("b", 4), 4, time.Unix(20, 0)) }()
	time.Sleep(20 * time.Millisecond)
	require.Equal(t, int32(4), built.Load(), "b's batches are made only when a slot frees")
	close(h.gate("a0"))
	close(h.gate("a2"))
	close(h.gate("b2"))
	require.NoError(t, <-sent)
	require.NoError(t, f.wait())
	require.NoError(t, f.settle(ctx))
	require.Equal(t, int32(8), built.Load())
	require.Equal(t, int32(3), h.started.Load(), "b0 had nothing to send")
	require.Equal(t, []string{"4@10", "4@20"}, c.list())
}
