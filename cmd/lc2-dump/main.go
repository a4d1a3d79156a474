// Command lc2-dump is the dumper: it takes a verified logical dump of a database
// into the backup store (backup), re-checks one (verify) or restores one into an
// empty database (restore). It runs in the dump Job or as the manager's child
// process and is configured only by its environment (internal/dump/env.go plus the
// store provider's own variables: aws); the password never appears in its args or output.
//
// backup always writes dump.json next to the dump, Succeeded or Failed, and exits 0
// only when the dump succeeded; verify and restore print their result as JSON on
// stdout and exit 0 only on success.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
	azureprovider "github.com/liferay/lc2-backup-controller/internal/provider/azure"
	localprovider "github.com/liferay/lc2-backup-controller/internal/provider/local"
)

const usage = "usage: lc2-dump backup|verify|restore (configured by LC2_* environment variables)"

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Getenv, openStore, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// storeOpener builds the backup store from the environment.
type storeOpener func(ctx context.Context, getenv func(string) string) (provider.Provider, error)

// run is the command: its exit code.
func run(ctx context.Context, args []string, getenv func(string) string, open storeOpener, stdout, stderr io.Writer) int {
	if len(args) != 1 {
		say(stderr, usage)
		return 2
	}
	var cmd func(context.Context, func(string) string, storeOpener, io.Writer, io.Writer) error
	switch args[0] {
	case "backup":
		cmd = backup
	case "verify":
		cmd = verify
	case "restore":
		cmd = restore
	default:
		say(stderr, usage)
		return 2
	}
	if err := cmd(ctx, getenv, open, stdout, stderr); err != nil {
		say(stderr, fmt.Sprintf("lc2-dump %s: %v", args[0], err))
		return 1
	}
	return 0
}

// say writes a line for people; the exit code tells the rest if stderr is gone.
func say(w io.Writer, line string) { _, _ = fmt.Fprintln(w, line) }

// backup takes the dump and writes dump.json whatever happened, as long as there
// is a store and a bucket to write it to.
func backup(ctx context.Context, getenv func(string) string, open storeOpener, stdout, _ io.Writer) error {
	cfg, cfgErr := dump.ConfigFromEnv(getenv)
	if cfg.Bucket == "" {
		return cfgErr // nowhere to write dump.json
	}
	store, err := open(ctx, getenv)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	var res *dump.Result
	if cfgErr != nil {
		res = failedResult(cfg, cfgErr)
	} else {
		res = dump.Backup(ctx, cfg, store)
	}
	// The run's token goes back unchanged: the controller reads only its own run's record.
	res.Run = getenv(dump.EnvRun)
	// dump.json is written even when ctx is done: it is how the controller learns why.
	writeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	if err := dump.WriteResult(writeCtx, store, cfg.Bucket, cfg.Prefix, res); err != nil {
		return err
	}
	if err := printJSON(stdout, res); err != nil {
		return err
	}
	if res.State != dump.StateSucceeded {
		return fmt.Errorf("%s (%s): %s", res.State, res.Reason, res.Message)
	}
	return nil
}

// failedResult is dump.json for a dump that could not start: its settings are wrong.
func failedResult(cfg dump.Config, err error) *dump.Result {
	now := time.Now().UTC()
	res := &dump.Result{Version: dump.ResultVersion, State: dump.StateFailed, Reason: dump.ReasonMissingSetting,
		Message: err.Error(), Bucket: cfg.Bucket, Database: cfg.Database, SourceSnapshot: cfg.SourceSnapshot,
		StartTime: now, EndTime: now}
	var f *dump.Failure
	if errors.As(err, &f) {
		res.Reason = f.Reason
	}
	return res
}

func verify(ctx context.Context, getenv func(string) string, open storeOpener, stdout, _ io.Writer) error {
	bucket := getenv(dump.EnvBucket)
	if bucket == "" {
		return fmt.Errorf("the setting %s is missing or empty", dump.EnvBucket)
	}
	store, err := open(ctx, getenv)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	ver, verifyErr := dump.Verify(ctx, store, bucket, getenv(dump.EnvPrefix), getenv(dump.EnvExpectSHA256))
	if ver != nil {
		if err := printJSON(stdout, ver); err != nil {
			return errors.Join(verifyErr, err)
		}
	}
	return verifyErr
}

func restore(ctx context.Context, getenv func(string) string, open storeOpener, stdout, _ io.Writer) error {
	cfg := dump.RestoreConfig{Bucket: getenv(dump.EnvBucket), Prefix: getenv(dump.EnvPrefix), ExpectSHA256: getenv(dump.EnvExpectSHA256)}
	if cfg.Bucket == "" {
		return fmt.Errorf("the setting %s is missing or empty", dump.EnvBucket)
	}
	store, err := open(ctx, getenv)
	if err != nil {
		return fmt.Errorf("open the store: %w", err)
	}
	res := &dump.RestoreResult{}
	if cfg.Connection, err = dump.ConnectionFromEnv(getenv); err == nil {
		err = confirmNonEmpty(getenv, &cfg)
	}
	if err != nil {
		now := time.Now().UTC()
		res = &dump.RestoreResult{Version: dump.ResultVersion, State: dump.StateFailed, Reason: dump.ReasonMissingSetting,
			Message: err.Error(), Bucket: cfg.Bucket, StartTime: now, EndTime: now}
		var f *dump.Failure
		if errors.As(err, &f) {
			res.Reason = f.Reason
		}
	} else {
		res = dump.Restore(ctx, cfg, store)
	}
	res.Run = getenv(dump.EnvRun)
	// Not written once stopped (SIGTERM): a stopped load is a cancelled or failed
	// RestoreRequest, whose cleanup may already have removed the record's place.
	if record := getenv(dump.EnvRestoreRecordPrefix); record != "" && ctx.Err() == nil {
		writeCtx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		if err := dump.WriteRestoreResult(writeCtx, store, cfg.Bucket, record, res); err != nil {
			return err
		}
	}
	if err := printJSON(stdout, res); err != nil {
		return err
	}
	if res.State != dump.StateSucceeded {
		return fmt.Errorf("%s (%s): %s", res.State, res.Reason, res.Message)
	}
	return nil
}

// confirmNonEmpty reads the restore's confirmation to load into a database that has tables.
func confirmNonEmpty(getenv func(string) string, cfg *dump.RestoreConfig) error {
	v := getenv(dump.EnvConfirmNonEmpty)
	if v == "" {
		return nil
	}
	var err error
	if cfg.ConfirmNonEmpty, err = strconv.ParseBool(v); err != nil {
		return fmt.Errorf("the setting %s is %q, not true or false", dump.EnvConfirmNonEmpty, v)
	}
	return nil
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return fmt.Errorf("print the result: %w", err)
	}
	return nil
}

// openStore builds the provider named by LC2_STORE_PROVIDER (aws when empty) from
// that provider's own environment, as the manager does. GCP is not built in: the
// Cloud Storage client's packages alone take about 24 MiB of RSS at start, a third of
// the dumper's memory budget (docs/benchmarks.md).
func openStore(ctx context.Context, getenv func(string) string) (provider.Provider, error) {
	switch name := getenv(dump.EnvProvider); name {
	case "", "aws":
		region := getenv("AWS_REGION")
		if region == "" {
			region = getenv("AWS_DEFAULT_REGION")
		}
		return awsprovider.New(ctx, awsprovider.Options{Region: region, Endpoint: getenv("AWS_ENDPOINT_URL")})
	case "local":
		return localprovider.New(ctx, localprovider.OptionsFromEnv(getenv))
	case "azure":
		return azureprovider.New(azureprovider.Options{AccountURL: getenv(azureprovider.EnvAccountURL),
			AccountName: getenv(azureprovider.EnvAccountName), AccountKey: getenv(azureprovider.EnvAccountKey)})
	default:
		return nil, fmt.Errorf("the setting %s is %q: this dumper stores dumps on aws, azure and local only", dump.EnvProvider, name)
	}
}
