package reliability

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"

	"github.com/coupler/coupler/internal/sandbox"
	"github.com/coupler/coupler/internal/secret"
	"github.com/coupler/coupler/internal/store"
	"github.com/coupler/coupler/internal/syncer"
)

// Environment of a child process.
const (
	envChild = "COUPLER_RELIABILITY_CHILD" // what the child does
	envReady = "COUPLER_RELIABILITY_READY" // sandbox.Ready as JSON
	envDir   = "COUPLER_RELIABILITY_DIR"   // the data dir
)

// runChild is the body of a child process the crash tests kill.
func runChild(mode string) int {
	ctx := context.Background()
	dir := os.Getenv(envDir)
	var err error
	switch mode {
	case "incremental":
		err = childIncremental(ctx, dir)
	case "rotate":
		err = childRotate(ctx, dir)
	case "wal":
		err = childWAL(ctx, dir)
	default:
		err = fmt.Errorf("unknown child mode %q", mode)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// childIncremental runs one incremental synchronisation.
func childIncremental(ctx context.Context, dir string) error {
	var r sandbox.Ready
	if err := json.Unmarshal([]byte(os.Getenv(envReady)), &r); err != nil {
		return err
	}
	eng, _, closeDB, err := newEngine(ctx, r, dir, defaultTuning)
	if err != nil {
		return err
	}
	defer closeDB()
	jobs, err := eng.Run(ctx, syncMappings, syncer.RunOptions{Trigger: "schedule"})
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if j.Status != "succeeded" || j.Counts.Failed > 0 {
			return fmt.Errorf("%s: %s, %d failed: %s", j.Mapping, j.Status, j.Counts.Failed, j.Message)
		}
	}
	return nil
}

// childRotate rotates the encryption key over and over.
func childRotate(ctx context.Context, dir string) error {
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	box, err := secret.New(secret.Options{Store: st, DataDir: dir, Logger: log, Getenv: noEnv})
	if err != nil {
		return err
	}
	for {
		if _, err := box.Rotate(ctx); err != nil {
			return err
		}
		fmt.Println("rotated")
	}
}

// childWAL commits couplings one transaction at a time and prints the
// number of each one after its commit returned.
func childWAL(ctx context.Context, dir string) error {
	log := slog.New(slog.DiscardHandler)
	st, err := store.Open(ctx, store.Options{DataDir: dir, Logger: log})
	if err != nil {
		return err
	}
	defer st.Close()
	for i := 0; ; i++ {
		if _, err := st.PutCoupling(ctx, walCoupling(i)); err != nil {
			return err
		}
		fmt.Println(i)
	}
}

func walCoupling(i int) syncer.Coupling {
	return syncer.Coupling{Mapping: "CUSTOMER", ERPID: fmt.Sprintf("erp-%07d", i), CRMID: fmt.Sprintf("crm-%07d", i), LastResult: "Success"}
}

func noEnv(string) string { return "" }
