package controller

import (
	"bytes"
	"context"
	"strings"
	"sync"
	"testing"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// bucketContents is every object of bucket, key to bytes (listed with
// ListObjectsUpTo, which the tests injecting ListObjects failures leave working).
func (m *machine) bucketContents(bucket string) map[string][]byte {
	m.t.Helper()
	objs, err := m.cloud.ListObjectsUpTo(m.ctx, bucket, "", 1<<20)
	if err != nil {
		m.t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, o := range objs {
		data, _ := m.cloud.ReadObject(bucket, o.Key)
		out[o.Key] = data
	}
	return out
}

func sameContents(a, b map[string][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || !bytes.Equal(v, w) {
			return false
		}
	}
	return true
}

// TestRefusalDecidableFromTheSpecWritesNothing: a destination inside its own source, a
// source inside an Incremental backup's repository, a malformed exclude pattern: each
// fails InvalidInput in preflight, naming the field, with nothing written (no claim in
// the live library, no snapshot), no status.claim and no expiry.
func TestRefusalDecidableFromTheSpecWritesNothing(t *testing.T) {
	for _, tc := range []struct {
		name, field string
		mutate      func(*backupv1alpha1.BackupRequestSpec)
	}{
		{"destination inside the source", "spec.documentLibrary.destinationPrefix", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.SourceBucket, s.DocumentLibrary.SourcePrefix = "liferay-retail-prd-dl", "retail/dl/"
			s.DocumentLibrary.DestinationBucket, s.DocumentLibrary.DestinationPrefix = "liferay-retail-prd-dl", "retail/dl/backup/"
		}},
		{"source inside the destination", "spec.documentLibrary.destinationPrefix", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.SourceBucket, s.DocumentLibrary.SourcePrefix = "liferay-retail-prd-dl", "retail/dl/"
			s.DocumentLibrary.DestinationBucket, s.DocumentLibrary.DestinationPrefix = "liferay-retail-prd-dl", "retail/"
		}},
		{"whole bucket as source", "spec.documentLibrary.destinationPrefix", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.SourceBucket, s.DocumentLibrary.SourcePrefix = "liferay-retail-prd-dl", ""
			s.DocumentLibrary.DestinationBucket, s.DocumentLibrary.DestinationPrefix = "liferay-retail-prd-dl", "retail/backups/b1/"
		}},
		{"source inside the repository", "spec.documentLibrary.sourcePrefix", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.Mode = backupv1alpha1.ModeIncremental
			s.DocumentLibrary.SourceBucket, s.DocumentLibrary.SourcePrefix = "liferay-backups", "retail/.repository/prd/objects/"
		}},
		{"malformed exclude pattern", "spec.documentLibrary.excludePatterns", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.ExcludePatterns = []string{"thumbnails/[a-"}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t, request("hotel", tc.mutate))
			m.cloud.PutObject("liferay-retail-prd-dl", "retail/dl/10/a.pdf", []byte("live file"))
			m.cloud.PutObject("liferay-backups", "retail/.repository/prd/objects/x", []byte("stored"))
			before := map[string]map[string][]byte{}
			for _, b := range []string{"liferay-retail-prd-dl", "liferay-backups"} {
				before[b] = m.bucketContents(b)
			}
			br := m.drive("hotel")
			if br.Status.Phase != backupv1alpha1.PhaseFailed || condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonInvalidInput) ||
				!strings.Contains(br.Status.Message, tc.field) {
				t.Fatalf("want Failed InvalidInput naming %s, got %s %+v", tc.field, br.Status.Phase, condition(br, backupv1alpha1.ConditionReady))
			}
			if br.Status.Claim != nil || br.Status.ExpiresAt != nil {
				t.Fatalf("refused in preflight, yet claim %+v, expiresAt %v", br.Status.Claim, br.Status.ExpiresAt)
			}
			for b, want := range before {
				if !sameContents(m.bucketContents(b), want) {
					t.Fatalf("bucket %s changed: %v", b, m.bucketContents(b))
				}
			}
			if n := m.cloud.Calls("UploadObject") + m.cloud.Calls("CreateDatabaseSnapshot") + m.cloud.Calls("CopyObjectStorage"); n != 0 {
				t.Fatalf("%d cloud writes for a refused request", n)
			}
		})
	}
}

// providerCalls is a MetricsRecorder that keeps the provider calls it is told of.
type providerCalls struct {
	mu    sync.Mutex
	calls []string // "op" or "op error <kind>"
	swept []provider.BackupOwner
}

func (p *providerCalls) Started(*backupv1alpha1.BackupRequest)                  {}
func (p *providerCalls) Finished(*backupv1alpha1.BackupRequest)                 {}
func (p *providerCalls) WaitingForQuota(*backupv1alpha1.BackupRequest, string)  {}
func (p *providerCalls) Copied(*backupv1alpha1.BackupRequest, int64, int64)     {}
func (p *providerCalls) Referenced(*backupv1alpha1.BackupRequest, int64, int64) {}
func (p *providerCalls) Swept(*backupv1alpha1.BackupRequest, int64, int64)      {}
func (p *providerCalls) Dumped(*backupv1alpha1.BackupRequest, int64, float64)   {}
func (p *providerCalls) DumpInstanceSwept(o provider.BackupOwner) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.swept = append(p.swept, o)
}
func (p *providerCalls) RetentionDeleted(*backupv1alpha1.BackupRequest) {}
func (p *providerCalls) RetentionFailed(*backupv1alpha1.BackupRequest)  {}
func (p *providerCalls) ProviderCall(op string, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil {
		op += " error " + string(provider.KindOf(err))
	}
	p.calls = append(p.calls, op)
}

func (p *providerCalls) of(op string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, c := range p.calls {
		if c == op || strings.HasPrefix(c, op+" ") {
			out = append(out, c)
		}
	}
	return out
}

// unrecordedCopy is a provider whose copy does not report its first stored object, so
// the inventory lists one object less than the copy stored.
type unrecordedCopy struct{ provider.Provider }

func (u unrecordedCopy) CopyObjectStorage(ctx context.Context, req provider.ObjectStorageCopyRequest) (*provider.ObjectStorageCopyResult, error) {
	stored, skipped := req.Stored, false
	req.Stored = func(o provider.StoredObject) {
		if !skipped {
			skipped = true
			return
		}
		stored(o)
	}
	return u.Provider.CopyObjectStorage(ctx, req)
}

// TestInventoryMismatchCountsTheCopyAsFailed: a copy whose inventory disagrees with
// what it stored fails the backup, and the provider-call metric counts that call as
// an error, not as a success.
func TestInventoryMismatchCountsTheCopyAsFailed(t *testing.T) {
	m := newMachine(t, request("mismatch"))
	calls := &providerCalls{}
	m.r.Metrics = calls
	providers := provider.NewRegistry()
	providers.Register("aws", unrecordedCopy{Provider: m.cloud})
	m.r.Providers = providers
	br := m.drive("mismatch")
	if br.Status.Phase != backupv1alpha1.PhaseFailed || condition(br, backupv1alpha1.ConditionReady).Reason != string(backupv1alpha1.ReasonCopyFailed) {
		t.Fatalf("want Failed CopyFailed, got %s %+v", br.Status.Phase, condition(br, backupv1alpha1.ConditionReady))
	}
	got := calls.of("CopyObjectStorage")
	if len(got) != 1 || got[0] != "CopyObjectStorage error "+string(provider.KindInvalidState) {
		t.Fatalf("want one CopyObjectStorage call counted as an InvalidState error, got %q", got)
	}
}
