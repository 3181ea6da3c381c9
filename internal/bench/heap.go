package bench

import (
	"context"
	"fmt"
	"os"
	"runtime/metrics"
	"runtime/pprof"
	"time"
)

// watchHeap writes a heap profile to path each time the live heap (as of
// the last collection) passes its highest by a tenth, until stop: the file
// then shows what the process held at its peak, which a profile taken at
// exit does not (a full run lets its indexes go before it ends).
func watchHeap(path string) (stop func() error, err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--heapprofile: %w", err)
	}
	_ = f.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		var high uint64
		var werr error
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				if high == 0 { // a run shorter than a tick: its end
					werr = writeHeapProfile(path)
				}
				done <- werr
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			live := sample[0].Value.Uint64()
			if live <= high+high/10 {
				continue
			}
			high = live
			if err := writeHeapProfile(path); err != nil && werr == nil {
				werr = err
			}
		}
	}()
	return func() error {
		cancel()
		return <-done
	}, nil
}

func writeHeapProfile(path string) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return fmt.Errorf("--heapprofile: %w", err)
	}
	if err := pprof.Lookup("heap").WriteTo(f, 0); err != nil {
		_ = f.Close()
		return fmt.Errorf("--heapprofile: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("--heapprofile: %w", err)
	}
	return os.Rename(tmp, path)
}
