package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"k8s.io/utils/clock"

	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// incPrefix is where night's Incremental backup keeps its inventory.
func incPrefix(night int) string {
	return fmt.Sprintf("%s/%s/inc-%02d/", projectID, environment, night)
}

// fullPrefix is night's Full backup (data/ and inventory/).
func fullPrefix(night int) string {
	return fmt.Sprintf("%s/%s/full-%02d/", projectID, environment, night)
}

// rcloneDir is the folder night's rclone sync writes.
func rcloneDir(night int) string {
	return fmt.Sprintf("%s/%s/rclone-%02d", projectID, environment, night)
}

// incUID is the uid of night's Incremental backup, as a BackupRequest's would be.
func incUID(night int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", night) }

// incremental backs the library up into the repository as the controller does: the
// reference record first, then repository.Backup, whose entries go to the backup's
// inventory as they come.
func (b *bench) incremental(ctx context.Context, night int) (backupRun, error) {
	prefix := incPrefix(night)
	run := backupRun{method: methodIncremental, night: night}
	var res *repository.BackupResult
	var summary inventory.Summary
	var mu sync.Mutex
	var entries []inventory.Entry
	if night == b.c.nights && b.c.cpuProfile != "" {
		stop, err := startCPUProfile(b.c.cpuProfile)
		if err != nil {
			return run, err
		}
		defer stop()
	}
	p, err := b.measured(func() error {
		now := time.Now()
		ref := repository.Ref{Version: repository.RefVersion, BackupID: fmt.Sprintf("%s/%s/inc-%02d", projectID, environment, night),
			UID: incUID(night), Namespace: projectID + "-" + environment, Name: fmt.Sprintf("inc-%02d", night),
			ProjectID: projectID, Environment: environment, Prefix: prefix, CreatedAt: now.UTC()}
		data, err := ref.Marshal()
		if err != nil {
			return err
		}
		if err := b.viaProxy.UploadObject(ctx, backupBucket, b.repo+repository.RefKey(ref.UID), data); err != nil {
			return fmt.Errorf("write the reference record: %w", err)
		}
		inv := inventory.NewWriter(b.viaProxy, backupBucket, prefix, layout.RunID(now), clock.RealClock{})
		var backupErr error
		res, backupErr = repository.Backup(ctx, b.viaProxy, repository.BackupOptions{
			SourceBucket: sourceBucket, SourcePrefix: sourcePrefix, Bucket: backupBucket, Prefix: b.repo,
			BackupUID: ref.UID, BackupPrefix: prefix,
			Record: func(e inventory.Entry) {
				inv.Add(ctx, e)
				mu.Lock()
				entries = append(entries, e)
				mu.Unlock()
			},
		})
		var invErr error
		summary, invErr = inv.Close(ctx)
		return errors.Join(backupErr, invErr)
	})
	if err != nil {
		return run, fmt.Errorf("incremental backup: %w", err)
	}
	run.phase = p
	run.copied, run.referenced = res.Copy.ObjectsCopied, res.ObjectsReferenced
	want := b.snapshots[night]
	if err := checkEntries(entries, want, repository.ObjectsDir); err != nil {
		return run, fmt.Errorf("incremental backup: %w", err)
	}
	if summary.Objects != int64(len(want)) || run.copied+run.referenced != int64(len(want)) {
		return run, fmt.Errorf("incremental backup: inventory of %d objects, %d copied + %d referenced, for a library of %d",
			summary.Objects, run.copied, run.referenced, len(want))
	}
	return run, nil
}

// full copies the whole library to a new destination as a Full backup does today
// (data/ plus the inventory), then measures the copy and removes it: its size is
// all the storage comparison needs, and 30 copies would not fit the server's tmpfs.
func (b *bench) full(ctx context.Context, night int) (backupRun, error) {
	prefix := fullPrefix(night)
	run := backupRun{method: methodFull, night: night}
	var res *provider.ObjectStorageCopyResult
	var summary inventory.Summary
	p, err := b.measured(func() error {
		inv := inventory.NewWriter(b.viaProxy, backupBucket, prefix, layout.RunID(time.Now()), clock.RealClock{})
		var copyErr error
		res, copyErr = b.viaProxy.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{
			SourceBucket: sourceBucket, SourcePrefix: sourcePrefix,
			DestinationBucket: backupBucket, DestinationPrefix: layout.DataPrefix(prefix),
			Stored: func(o provider.StoredObject) {
				inv.Add(ctx, inventory.Entry{SourceKey: o.SourceKey, StoredKey: strings.TrimPrefix(o.Key, prefix), Size: o.Size,
					ETag: o.ETag, SourceETag: o.SourceETag, Checksum: o.Checksum})
			},
		})
		var invErr error
		summary, invErr = inv.Close(ctx)
		return errors.Join(copyErr, invErr)
	})
	if err != nil {
		return run, fmt.Errorf("full backup: %w", err)
	}
	run.phase = p
	run.copied = res.ObjectsCopied
	want := b.snapshots[night]
	if run.copied != int64(len(want)) || summary.Objects != int64(len(want)) {
		return run, fmt.Errorf("full backup: %d objects copied, inventory of %d, for a library of %d", run.copied, summary.Objects, len(want))
	}
	if err := b.measureCopy(ctx, &run, prefix, layout.DataPrefix(prefix), want); err != nil {
		return run, fmt.Errorf("full backup: %w", err)
	}
	b.fullSizes[night] = run.storedBytes
	return run, b.deletePrefix(ctx, backupBucket, prefix)
}

// rclone runs `rclone sync` of the library into the night's folder with --copy-dest
// the previous night's, as a user's nightly script would, then measures the copy
// and removes the previous night's folder (it served as --copy-dest).
func (b *bench) rclone(ctx context.Context, night int) (backupRun, error) {
	dir := rcloneDir(night)
	run := backupRun{method: methodRclone, night: night}
	n := strconv.Itoa(b.c.rcloneTransfers)
	args := []string{"sync", "bench:" + sourceBucket + "/" + strings.TrimSuffix(sourcePrefix, "/"), "bench:" + backupBucket + "/" + dir,
		"--fast-list", "--checksum", "--transfers", n, "--checkers", n, "--stats", "0", "-q"}
	if night > 1 {
		args = append(args, "--copy-dest", "bench:"+backupBucket+"/"+rcloneDir(night-1))
	}
	var stderr bytes.Buffer
	p, err := b.measured(func() error {
		cmd := exec.CommandContext(ctx, b.c.rclone, args...)
		cmd.Env = b.rcloneEnv
		cmd.Stdout, cmd.Stderr = &stderr, &stderr
		return runChild(cmd)
	})
	if err != nil {
		return run, fmt.Errorf("rclone %s: %w\n%s", strings.Join(args, " "), err, stderr.String())
	}
	run.phase = p
	run.copied = p.requests[opCopy]
	if err := b.measureCopy(ctx, &run, dir+"/", dir+"/", b.snapshots[night]); err != nil {
		return run, fmt.Errorf("rclone: %w", err)
	}
	b.rcloneSizes[night] = run.storedBytes
	if night > 1 {
		return run, b.deletePrefix(ctx, backupBucket, rcloneDir(night-1)+"/")
	}
	return run, nil
}

// measureCopy lists a copy (everything under prefix; the library under data) and
// checks that data holds every object of the library with its size.
func (b *bench) measureCopy(ctx context.Context, run *backupRun, prefix, data string, want []expected) error {
	objects, err := b.list(ctx, backupBucket, prefix)
	if err != nil {
		return err
	}
	sizes := map[string]int64{}
	for _, o := range objects {
		run.storedObjects++
		run.storedBytes += o.Size
		if rel, ok := strings.CutPrefix(o.Key, data); ok {
			sizes[rel] = o.Size
		}
	}
	if len(sizes) != len(want) {
		return fmt.Errorf("the copy holds %d objects, the library %d", len(sizes), len(want))
	}
	for _, e := range want {
		if size, ok := sizes[strings.TrimPrefix(e.key, sourcePrefix)]; !ok || size != e.size {
			return fmt.Errorf("the copy lacks %s or holds it with another size", e.key)
		}
	}
	return nil
}

// runChild runs cmd, killed if this process dies.
func runChild(cmd *exec.Cmd) error {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	runtime.LockOSThread() // Pdeathsig follows the thread that started the child
	err := cmd.Start()
	runtime.UnlockOSThread()
	if err != nil {
		return fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	return cmd.Wait()
}

// startCPUProfile profiles this process into path until the returned func is called.
func startCPUProfile(path string) (func(), error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("cpu profile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		return nil, errors.Join(fmt.Errorf("cpu profile: %w", err), f.Close())
	}
	return func() {
		pprof.StopCPUProfile()
		if err := f.Close(); err != nil {
			logf("cpu profile: %v", err)
		}
	}, nil
}
