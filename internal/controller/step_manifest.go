package controller

import (
	"context"
	"fmt"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// manifestName is the manifest's file name under the backup's destination prefix.
const manifestName = "manifest.json"

// backupID names the backup in its manifest: stable across restarts and unique
// across namespaces.
func backupID(br *backupv1alpha1.BackupRequest) string {
	uid := string(br.UID)
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return fmt.Sprintf("%s-%s-%s", br.Namespace, br.Name, uid)
}

// manifestLocation is where the manifest goes: beside the copied files, or for a
// database-only backup in the configured manifest bucket ("" when there is none).
func (r *BackupRequestReconciler) manifestLocation(br *backupv1alpha1.BackupRequest) (bucket, key string) {
	if dl := br.Spec.DocumentLibrary; dl != nil {
		return string(dl.DestinationBucket), destinationPrefix(dl) + manifestName
	}
	if r.Options.ManifestBucket == "" {
		return "", ""
	}
	return r.Options.ManifestBucket, fmt.Sprintf("%s/%s/%s/%s", br.Spec.ProjectID, br.Spec.Environment, backupID(br), manifestName)
}

// reconcileManifest writes the manifest describing what the backup holds and completes
// the backup in the same status write. Its file list comes from listing the
// destination, so it is right even after a restart.
func (r *BackupRequestReconciler) reconcileManifest(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (stepResult, error) {
	if conditionTrue(br, ConditionManifestWritten) {
		return stepDone, nil
	}
	bucket, key := r.manifestLocation(br)
	if bucket == "" {
		return stepDone, r.complete(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
			r.setCondition(st, br.Generation, ConditionManifestWritten, "False", ReasonNoManifestBucket,
				"database-only backup and no --manifest-bucket configured: no manifest written")
		}, nil)
	}
	m, err := r.buildManifest(ctx, br, prov)
	if err != nil {
		return stepResult{}, err
	}
	if err := m.Seal(); err != nil {
		return stepResult{}, provider.NewError(provider.KindInvalidInput, "SealManifest", key, err)
	}
	data, err := m.Marshal(manifest.Pretty)
	if err != nil {
		return stepResult{}, fmt.Errorf("marshal manifest: %w", err)
	}
	err = prov.UploadObject(ctx, bucket, key, data)
	r.observeCall("UploadObject", err)
	if err != nil {
		return stepResult{}, fmt.Errorf("upload manifest to s3://%s/%s: %w", bucket, key, err)
	}
	location := fmt.Sprintf("s3://%s/%s", bucket, key)
	return stepDone, r.complete(ctx, br, func(st *backupv1alpha1.BackupRequestStatus) {
		st.Manifest = &backupv1alpha1.ManifestStatus{Location: location, Checksum: m.Checksum}
		r.setCondition(st, br.Generation, ConditionManifestWritten, "True", ReasonManifestWritten, "manifest written to "+location)
	}, func() {
		r.normalEvent(br, ReasonManifestWritten, "WriteManifest", "Manifest written to %s (%s)", location, m.Checksum)
	})
}

func (r *BackupRequestReconciler) buildManifest(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (*manifest.Manifest, error) {
	m := manifest.New(br.Spec.ProjectID, br.Spec.Environment, backupID(br), r.Clock.Now())
	if db := br.Status.Database; br.Spec.Database != nil && db != nil {
		m.Database = &manifest.DatabaseInfo{
			SnapshotID: db.SnapshotID, SnapshotARN: db.SnapshotARN, InstanceID: br.Spec.Database.InstanceID,
			SizeBytes: db.SizeBytes, Engine: db.Engine, EngineVersion: db.EngineVersion,
		}
	}
	if dl := br.Spec.DocumentLibrary; dl != nil {
		prefix := destinationPrefix(dl)
		objects, err := prov.ListObjects(ctx, string(dl.DestinationBucket), prefix)
		r.observeCall("ListObjects", err)
		if err != nil {
			return nil, fmt.Errorf("list backup at s3://%s/%s: %w", dl.DestinationBucket, prefix, err)
		}
		info := &manifest.DocumentLibraryInfo{
			SourceBucket: string(dl.SourceBucket), SourcePrefix: string(dl.SourcePrefix),
			DestinationBucket: string(dl.DestinationBucket), DestinationPrefix: prefix,
		}
		for _, o := range objects {
			if o.Key == prefix+manifestName {
				continue
			}
			info.AddFile(manifest.File{Key: o.Key, Size: o.Size, ETag: o.ETag})
		}
		m.DocumentLibrary = info
	}
	return m, nil
}
