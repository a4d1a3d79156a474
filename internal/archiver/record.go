package archiver

import (
	"time"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/database"
)

// Limits of free-text columns; longer controller text is cut rather than losing the record.
const (
	maxMessageBytes = 32768
	maxReasonChars  = 128
)

// RecordFromBackupRequest converts a BackupRequest into its backup-history row.
// The result is validated by the database client on upsert.
func RecordFromBackupRequest(br *backupv1.BackupRequest, now time.Time) *database.BackupRecord {
	r := &database.BackupRecord{
		UID:         string(br.UID),
		Namespace:   br.Namespace,
		Name:        br.Name,
		ProjectID:   br.Spec.ProjectID,
		Environment: br.Spec.Environment,
		Provider:    string(br.Spec.Provider),
		Phase:       string(br.Status.Phase),
		Message:     truncateBytes(br.Status.Message, maxMessageBytes),
		RequestedAt: br.CreationTimestamp.UTC(),

		StartTime:      timePtr(br.Status.StartTime),
		CompletionTime: timePtr(br.Status.CompletionTime),
		ExpiresAt:      timePtr(br.Status.ExpiresAt),
	}
	if r.Provider == "" {
		r.Provider = string(backupv1.ProviderAWS)
	}
	if r.RequestedAt.IsZero() {
		r.RequestedAt = now.UTC()
	}
	if c := br.Status.Condition(backupv1.ConditionReady); c != nil {
		r.Reason = truncateRunes(c.Reason, maxReasonChars)
	}
	if br.Spec.RetentionDays != nil {
		r.RetentionDays = *br.Spec.RetentionDays
	}
	if db := br.Spec.Database; db != nil {
		r.DBBackupType = string(db.Type)
		if r.DBBackupType == "" {
			r.DBBackupType = string(backupv1.DatabaseBackupSnapshot)
		}
		r.DBInstanceID = db.InstanceID
	}
	if st := br.Status.Database; st != nil {
		r.DBSnapshotID, r.DBSnapshotARN = st.SnapshotID, st.SnapshotARN
		r.DBEngine, r.DBEngineVersion, r.DBSizeBytes = st.Engine, st.EngineVersion, st.SizeBytes
	}
	if dl := br.Spec.DocumentLibrary; dl != nil {
		r.DLSourceBucket, r.DLSourcePrefix = string(dl.SourceBucket), string(dl.SourcePrefix)
		r.DLDestinationBucket, r.DLDestinationPrefix = string(dl.DestinationBucket), string(dl.DestinationPrefix)
	}
	if st := br.Status.DocumentLibrary; st != nil {
		r.DLObjectCount = st.ObjectsTotal
		if r.DLObjectCount == 0 {
			r.DLObjectCount = st.ObjectsCopied + st.ObjectsSkipped
		}
		r.DLObjectsExcluded = st.ObjectsExcluded
		r.DLTotalBytes = st.TotalSizeBytes
		if r.DLTotalBytes == 0 {
			r.DLTotalBytes = st.BytesCopied
		}
	}
	if m := br.Status.Manifest; m != nil {
		r.ManifestLocation, r.ManifestChecksum = m.Location, m.Checksum
	}
	return r
}

func timePtr(t *metav1.Time) *time.Time {
	if t == nil || t.IsZero() {
		return nil
	}
	v := t.UTC()
	return &v
}

func truncateBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const mark = " [truncated]"
	n -= len(mark)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + mark
}

func truncateRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
