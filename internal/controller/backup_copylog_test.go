package controller

import (
	"strings"
	"sync"
	"testing"

	"github.com/go-logr/logr/funcr"
	ctrl "sigs.k8s.io/controller-runtime"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/repository"
)

// TestACopyJobLogsToTheBackupsLogger: the copy runs after the pass that started it
// returned, and what it logs still reaches the reconciler's logger. Here: listing
// hints that name a backup whose reference record is gone make the Incremental copy
// list the repository instead of reading that backup's inventory, and it says so.
func TestACopyJobLogsToTheBackupsLogger(t *testing.T) {
	br := request("logged", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.Mode = backupv1alpha1.ModeIncremental })
	m := newMachine(t, br)
	m.cloud.SnapshotReadyAfter = 0
	var mu sync.Mutex
	var lines []string
	m.ctx = ctrl.LoggerInto(m.ctx, funcr.New(func(prefix, args string) {
		mu.Lock()
		defer mu.Unlock()
		lines = append(lines, args)
	}, funcr.Options{Verbosity: 1}).WithValues("backup", "logged"))
	dl := br.Spec.DocumentLibrary
	m.cloud.PutObject("liferay-backups", repository.Prefix("retail", "prd")+repository.ListingHintsKey(string(dl.SourceBucket), dl.SourceKeyPrefix()),
		[]byte(`{"version":"1","sourceBucket":"`+string(dl.SourceBucket)+`","sourcePrefix":"`+dl.SourceKeyPrefix()+`","index":{"uid":"uid-gone","prefix":"retail/prd/gone/"}}`))

	got := m.drive("logged")
	if got.Status.Phase != backupv1alpha1.PhaseSucceeded || got.Status.DocumentLibrary.ObjectsCopied == 0 {
		t.Fatalf("phase %s, %+v: %s", got.Status.Phase, got.Status.DocumentLibrary, got.Status.Message)
	}
	mu.Lock()
	defer mu.Unlock()
	for _, l := range lines {
		if strings.Contains(l, "listing the repository instead") && strings.Contains(l, `"backup"="logged"`) && strings.Contains(l, `"indexBackup"="uid-gone"`) {
			return
		}
	}
	t.Fatalf("no log line of the copy's fallback with the backup's key/values in:\n%s", strings.Join(lines, "\n"))
}
