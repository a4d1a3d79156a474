package archiver

import (
	"strings"
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
	recordDatabase(r, br)
	recordDocumentLibrary(r, br)
	if m := br.Status.Manifest; m != nil {
		r.ManifestLocation, r.ManifestChecksum = m.Location, m.Checksum
	}
	return r
}

// recordDatabase fills the database columns: what the spec asked for and what the
// snapshot step reported.
func recordDatabase(r *database.BackupRecord, br *backupv1.BackupRequest) {
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
		recordDump(r, st.Dump)
	}
}

// recordDump fills the dump columns from a verified dump (one still running has
// none yet: the history counts only what is stored).
func recordDump(r *database.BackupRecord, d *backupv1.DatabaseDumpStatus) {
	if d == nil || d.CompletionTime == nil || d.Location == "" {
		return
	}
	r.DBDumpLocation, r.DBDumpSizeBytes, r.DBDumpSHA256 = d.Location, d.SizeBytes, strings.TrimPrefix(d.SHA256, "sha256:")
	r.DBDumpServerVersion, r.DBDumpTool = d.ServerVersion, d.Tool
	r.DBDumpStartTime, r.DBDumpCompletionTime = timePtr(d.StartTime), timePtr(d.CompletionTime)
}

// recordDocumentLibrary fills the document-library columns from the spec and the copy's
// status.
func recordDocumentLibrary(r *database.BackupRecord, br *backupv1.BackupRequest) {
	if dl := br.Spec.DocumentLibrary; dl != nil {
		r.DLSourceBucket, r.DLSourcePrefix = string(dl.SourceBucket), string(dl.SourcePrefix)
		r.DLDestinationBucket, r.DLDestinationPrefix = string(dl.DestinationBucket), string(dl.DestinationPrefix)
		r.DLMode = string(dl.Mode)
	}
	if st := br.Status.DocumentLibrary; st != nil {
		// The status says what the copy did; the spec (defaulted to Full) what was asked.
		if st.Mode != "" {
			r.DLMode = string(st.Mode)
		}
		r.DLObjectCount = st.ObjectsTotal
		if r.DLObjectCount == 0 {
			r.DLObjectCount = st.ObjectsCopied + st.ObjectsSkipped + st.ObjectsReferenced
		}
		r.DLObjectsExcluded = st.ObjectsExcluded
		r.DLTotalBytes = st.TotalSizeBytes
		if r.DLTotalBytes == 0 {
			r.DLTotalBytes = st.BytesCopied + st.BytesReferenced
		}
		if r.DLMode == string(backupv1.ModeIncremental) {
			// Only an Incremental backup splits what it copied from what it references;
			// a Full one stored everything it holds (DLObjectCount, DLTotalBytes).
			r.DLObjectsCopied, r.DLObjectsReferenced = st.ObjectsCopied, st.ObjectsReferenced
			r.DLBytesCopied, r.DLBytesReferenced = st.BytesCopied, st.BytesReferenced
			r.DLRepository = st.Repository
		}
		r.DLConsistency, r.DLPointInTime = string(st.Consistency), timePtr(st.PointInTime)
	}
	if r.DLMode == "" && br.Spec.DocumentLibrary != nil {
		r.DLMode = string(backupv1.ModeFull) // the CRD's default
	}
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

// RecordFromRestoreRequest converts a RestoreRequest into its backup-history row.
// The resolved source (status.source) gives the project, environment and backup;
// before it is resolved the row carries what the spec names (the BackupRequest, or
// the manifest URL, unverified). The result is validated by the database client on
// upsert.
func RecordFromRestoreRequest(rr *backupv1.RestoreRequest, now time.Time) *database.RestoreRecord {
	r := &database.RestoreRecord{
		UID:         string(rr.UID),
		Namespace:   rr.Namespace,
		Name:        rr.Name,
		Phase:       string(rr.Status.Phase),
		Message:     truncateBytes(rr.Status.Message, maxMessageBytes),
		RequestedAt: rr.CreationTimestamp.UTC(),
		VerifyOnly:  rr.Spec.VerifyOnly,

		BackupName:       rr.Spec.Source.BackupRequestName,
		ManifestLocation: rr.Spec.Source.Manifest,

		StartTime:      timePtr(rr.Status.StartTime),
		CompletionTime: timePtr(rr.Status.CompletionTime),
	}
	if r.RequestedAt.IsZero() {
		r.RequestedAt = now.UTC()
	}
	if c := rr.Status.Condition(backupv1.ConditionReady); c != nil {
		r.Reason = truncateRunes(c.Reason, maxReasonChars)
	}
	if src := rr.Status.Source; src != nil {
		r.ProjectID, r.Environment = src.ProjectID, src.Environment
		r.BackupID, r.BackupRequestUID = src.BackupID, src.BackupRequestUID
		if src.BackupRequestName != "" {
			r.BackupName = src.BackupRequestName
		}
		r.ManifestLocation, r.ManifestChecksum, r.SnapshotID = src.ManifestLocation, src.ManifestChecksum, src.SnapshotID
	}
	k := RestoreKeyFor(rr)
	r.TargetInstanceID, r.TargetBucket, r.TargetPrefix = k.TargetInstanceID, k.TargetBucket, k.TargetPrefix
	if dl := rr.Spec.DocumentLibrary; dl != nil {
		r.ExistingObjects = string(dl.ExistingObjects)
		if r.ExistingObjects == "" {
			r.ExistingObjects = string(backupv1.ExistingObjectsRefuse)
		}
	}
	if st := rr.Status.Database; st != nil {
		r.TargetInstanceARN = st.InstanceARN
	}
	if st := rr.Status.DocumentLibrary; st != nil {
		r.ObjectsRestored, r.ObjectsSkipped, r.BytesRestored = st.ObjectsRestored, st.ObjectsSkipped, st.BytesRestored
	}
	if st := rr.Status.Verification; st != nil {
		r.ObjectsMissing, r.ObjectsDifferent = st.ObjectsMissing, st.ObjectsDifferent
	}
	return r
}

// RestoreKeyFor is the one-shot key of rr (see CompletedRestore): the resolved
// backup's project and backupId (empty until status.source is set), the targets as
// the history records them, and rr's own uid as ExcludeUID.
func RestoreKeyFor(rr *backupv1.RestoreRequest) database.RestoreKey {
	return RestoreKey(rr.Identity(), string(rr.UID))
}

// RestoreKey is the history's one-shot key of a restore identity, leaving out the
// restore with uid exclude.
func RestoreKey(id backupv1.RestoreIdentity, exclude string) database.RestoreKey {
	return database.RestoreKey{
		ProjectID: id.ProjectID, BackupID: id.BackupID,
		TargetInstanceID: id.TargetInstanceID, TargetBucket: id.TargetBucket, TargetPrefix: id.TargetPrefix,
		ExcludeUID: exclude,
	}
}
