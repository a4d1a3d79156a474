package controller

import (
	"context"
	"fmt"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// backupID names the backup in its manifest: stable across restarts and unique
// across namespaces.
func backupID(br *backupv1alpha1.BackupRequest) string {
	uid := string(br.UID)
	if len(uid) > 8 {
		uid = uid[:8]
	}
	return fmt.Sprintf("%s-%s-%s", br.Namespace, br.Name, uid)
}

// manifestLocation is where the manifest goes: beside the backup's data under its
// claimed destination ("" when the backup has no destination, a database-only
// backup without a manifest bucket).
func (r *BackupRequestReconciler) manifestLocation(br *backupv1alpha1.BackupRequest) (bucket, key string) {
	bucket, prefix, ok := r.destination(br)
	if !ok {
		return "", ""
	}
	return bucket, layout.ManifestKey(prefix)
}

// reconcileManifest writes the manifest describing what the backup holds. Its file
// list and inventory reference come from the inventory the copy wrote, so it is right
// even after a restart. It owns the ManifestWritten condition and status.manifest.
func (r *BackupRequestReconciler) reconcileManifest(ctx context.Context, s *backupScope) (stepResult, error) {
	br, st := s.br, s.status()
	if c := st.Condition(backupv1alpha1.ConditionManifestWritten); c != nil &&
		(c.Status == metav1.ConditionTrue || c.Reason == string(backupv1alpha1.ReasonNoManifestBucket)) {
		return stepDone, nil
	}
	bucket, key := r.manifestLocation(br)
	if bucket == "" {
		st.SetCondition(backupv1alpha1.ConditionManifestWritten, metav1.ConditionFalse, backupv1alpha1.ReasonNoManifestBucket,
			"database-only backup and no --manifest-bucket configured: no manifest written", s.now)
		return stepDone, nil
	}
	m, err := r.buildManifest(ctx, br, s.prov)
	if err != nil {
		return stepResult{}, err
	}
	if err := m.Seal(); err != nil {
		return stepResult{}, failWith(backupv1alpha1.ReasonManifestFailed, "the manifest for s3://%s/%s is invalid: %v", bucket, key, err)
	}
	data, err := m.Marshal(manifest.Pretty)
	if err != nil {
		return stepResult{}, fmt.Errorf("marshal manifest: %w", err)
	}
	err = s.prov.UploadObject(ctx, bucket, key, data)
	r.observeCall("UploadObject", err)
	if err != nil {
		return stepResult{}, fmt.Errorf("upload manifest to s3://%s/%s: %w", bucket, key, err)
	}
	location := fmt.Sprintf("s3://%s/%s", bucket, key)
	st.Manifest = &backupv1alpha1.ManifestStatus{Location: location, Checksum: m.Checksum}
	st.SetCondition(backupv1alpha1.ConditionManifestWritten, metav1.ConditionTrue, backupv1alpha1.ReasonManifestWritten, "manifest written to "+location, s.now)
	s.after(func() {
		r.recorder().normal(br, backupv1alpha1.ReasonManifestWritten, "WriteManifest", "Manifest written to %s (%s)", location, m.Checksum)
	})
	return stepDone, nil
}

func (r *BackupRequestReconciler) buildManifest(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (*manifest.Manifest, error) {
	m := manifest.New(br.Spec.ProjectID, br.Spec.Environment, backupID(br), r.Clock.Now())
	if db := br.Status.Database; br.Spec.Database != nil && db != nil {
		m.Database = &manifest.DatabaseInfo{
			SnapshotID: db.SnapshotID, SnapshotARN: db.SnapshotARN, InstanceID: br.Spec.Database.InstanceID,
			SizeBytes: db.SizeBytes, Engine: db.Engine, EngineVersion: db.EngineVersion,
			SourceInstance: manifestInstanceSettings(db.SourceInstance),
			Dump:           r.manifestDump(br),
		}
		if db.SnapshotDeleted {
			// keepSnapshot: false: the verified dump holds the database, no snapshot does.
			m.Database.SnapshotID, m.Database.SnapshotARN = "", ""
		}
		if d := m.Database.Dump; d != nil {
			inv, err := r.databaseInventory(ctx, br, prov, d)
			if err != nil {
				return nil, err
			}
			m.Database.Inventory = inv
		}
	}
	if dl := br.Spec.DocumentLibrary; dl != nil {
		info, err := r.documentLibraryInfo(ctx, br, prov)
		if err != nil {
			return nil, err
		}
		m.DocumentLibrary = info
	}
	return m, nil
}

// documentLibraryInfo reads back the inventory of the run that completed the copy: its
// parts' checksums go into the manifest, its first manifest.MaxFiles entries become
// the file list, and its totals must equal those in status.
func (r *BackupRequestReconciler) documentLibraryInfo(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider) (*manifest.DocumentLibraryInfo, error) {
	dl, st := br.Spec.DocumentLibrary, br.Status.DocumentLibrary
	bucket, prefix := string(dl.DestinationBucket), dl.DestinationKeyPrefix()
	if st == nil || st.InventoryRun == "" {
		return nil, &failure{backupv1alpha1.ReasonManifestFailed, "the copy recorded no inventory; the backup cannot be described"}
	}
	listed, err := prov.ListObjects(ctx, bucket, prefix+layout.RunPrefix(st.InventoryRun))
	r.observeCall("ListObjects", err)
	if err != nil {
		return nil, fmt.Errorf("list inventory of s3://%s/%s: %w", bucket, prefix, err)
	}
	info := &manifest.DocumentLibraryInfo{
		SourceBucket: string(dl.SourceBucket), SourcePrefix: dl.SourceKeyPrefix(),
		DestinationBucket: bucket, DestinationPrefix: prefix, Consistency: string(st.Consistency),
	}
	if st.PointInTime != nil {
		t := st.PointInTime.UTC()
		info.PointInTime = &t
	}
	r.strategyFor(br).describeManifest(info, st)
	ref := &manifest.InventoryInfo{Format: manifest.InventoryFormat, Parts: []manifest.InventoryPart{}}
	for _, o := range listed {
		rel := strings.TrimPrefix(o.Key, prefix)
		if !layout.IsPartKey(rel) {
			continue
		}
		data, err := provider.ReadSmallObject(ctx, prov, bucket, o.Key)
		r.observeCall("DownloadObject", err)
		if err != nil {
			return nil, fmt.Errorf("read inventory part: %w", err)
		}
		part, err := inventory.Read(data, func(e inventory.Entry) error {
			info.AddFile(manifest.File{Key: info.StoredObjectKey(e.StoredKey), Size: e.Size, ETag: e.ETag})
			return nil
		})
		if err != nil {
			return nil, &failure{backupv1alpha1.ReasonManifestFailed, fmt.Sprintf("inventory part s3://%s/%s is unreadable: %v", bucket, o.Key, err)}
		}
		ref.Parts = append(ref.Parts, manifest.InventoryPart{Key: rel, SHA256: part.SHA256, ObjectCount: part.Objects, SizeBytes: part.Bytes})
		ref.ObjectCount += part.Objects
		ref.TotalSizeBytes += part.Bytes
	}
	if ref.ObjectCount != st.ObjectsTotal || ref.TotalSizeBytes != st.TotalSizeBytes {
		return nil, &failure{backupv1alpha1.ReasonManifestFailed, fmt.Sprintf(
			"the inventory in s3://%s/%s lists %d objects (%d bytes) but the copy recorded %d (%d bytes); the backup is not trusted",
			bucket, prefix+layout.InventoryDir, ref.ObjectCount, ref.TotalSizeBytes, st.ObjectsTotal, st.TotalSizeBytes)}
	}
	info.Inventory = ref
	return info, nil
}

// manifestInstanceSettings is the manifest's record of the source instance's settings
// (nil for a backup started before they were recorded).
func manifestInstanceSettings(s *backupv1alpha1.DatabaseInstanceSettings) *manifest.InstanceSettings {
	if s == nil {
		return nil
	}
	return &manifest.InstanceSettings{
		InstanceClass: s.InstanceClass, StorageType: s.StorageType, AllocatedStorageGiB: s.AllocatedStorageGiB, Iops: s.Iops,
		ParameterGroup: s.ParameterGroup, OptionGroup: s.OptionGroup, SubnetGroup: s.SubnetGroup,
		SecurityGroupIDs: s.SecurityGroupIDs, Port: s.Port, MultiAZ: s.MultiAZ, PubliclyAccessible: s.PubliclyAccessible,
		Tags: s.Tags,
	}
}
