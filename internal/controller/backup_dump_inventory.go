package controller

import (
	"context"
	"fmt"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/inventory"
	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// The dump files (the dump and its record, dump.json) are listed in an inventory part
// of their own, inventory/database.jsonl.gz: the copy's parts and counts are per copy
// run, and every reader of them (restore, sweep, Full removal) expects keys under
// data/ or the repository. The dump step writes the part once the dump is accepted,
// so a backup that fails afterwards still records what it wrote; the manifest
// references it as database.inventory; expiry and deletion remove what it lists.

// listDumpFiles writes the database part of the backup at bucket/prefix: the dump at
// dumpKey (an absolute key) with its SHA-256 as the dumper read it back, and the
// record, whose bytes as read are record, each with the size and ETag the store lists.
func (r *BackupRequestReconciler) listDumpFiles(ctx context.Context, prov provider.Provider, bucket, prefix, dumpKey, dumpSHA256 string, dumpSize int64, record []byte) (inventory.Part, error) {
	dir := prefix + layout.DatabaseDir
	listed, err := prov.ListObjects(ctx, bucket, dir)
	r.observeCall("ListObjects", err)
	if err != nil {
		return inventory.Part{}, fmt.Errorf("list the dump files in s3://%s/%s: %w", bucket, dir, err)
	}
	recordKey := layout.DumpResultKey(prefix)
	var entries []inventory.Entry
	for _, o := range listed {
		switch o.Key {
		case dumpKey:
			if o.Size != dumpSize {
				return inventory.Part{}, failWith(backupv1alpha1.ReasonDumpVerifyFailed,
					"the store holds s3://%s/%s at %d bytes, not the %d bytes its record states", bucket, o.Key, o.Size, dumpSize)
			}
			entries = append(entries, inventory.Made(o, prefix, sha256Ref(dumpSHA256)))
		case recordKey:
			if o.Size != int64(len(record)) {
				// Rewritten since it was read: only a dumper run writes it, so look again.
				return inventory.Part{}, fmt.Errorf("the dump's record s3://%s/%s changed while it was listed (%d bytes, read %d)", bucket, o.Key, o.Size, len(record))
			}
			entries = append(entries, inventory.Made(o, prefix, inventory.Checksum(record)))
		}
	}
	if len(entries) != 2 {
		return inventory.Part{}, failWith(backupv1alpha1.ReasonDumpVerifyFailed,
			"the store does not hold both s3://%s/%s and its record s3://%s/%s", bucket, dumpKey, bucket, recordKey)
	}
	part, err := inventory.WritePart(ctx, prov, bucket, prefix, layout.DatabasePartKey(""), entries)
	r.observeCall("UploadObject", err)
	return part, err
}

// databaseInventory reads the backup's database part back for its manifest: it must
// list exactly the dump status records, at its size and SHA-256, and its record, so
// manifest, status, history and metrics agree with what is stored. A backup whose
// dump was accepted before the dump files were listed gets its part written here.
func (r *BackupRequestReconciler) databaseInventory(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, dump *manifest.DumpInfo) (*manifest.InventoryInfo, error) {
	bucket, prefix, _ := r.destination(br)
	key := layout.DatabasePartKey(prefix)
	data, err := provider.ReadSmallObject(ctx, prov, bucket, key)
	r.observeCall("DownloadObject", err)
	if provider.IsNotFound(err) {
		data, err = r.relistDumpFiles(ctx, br, prov, bucket, prefix, dump)
	}
	if err != nil {
		return nil, fmt.Errorf("read the dump files' inventory part s3://%s/%s: %w", bucket, key, err)
	}
	found := map[string]inventory.Entry{}
	part, err := inventory.Read(data, func(e inventory.Entry) error {
		if !layout.IsDatabaseKey(e.StoredKey) {
			return fmt.Errorf("it lists %q, which is not in %s", e.StoredKey, layout.DatabaseDir)
		}
		found[e.StoredKey] = e
		return nil
	})
	if err == nil {
		err = checkListedDump(found, dump, part.Objects)
	}
	if err != nil {
		return nil, &failure{backupv1alpha1.ReasonManifestFailed, fmt.Sprintf("the dump files' inventory part s3://%s/%s: %v; the backup is not trusted", bucket, key, err)}
	}
	return &manifest.InventoryInfo{
		Format: manifest.InventoryFormat, ObjectCount: part.Objects, TotalSizeBytes: part.Bytes,
		Parts: []manifest.InventoryPart{{Key: layout.DatabasePartKey(""), SHA256: part.SHA256, ObjectCount: part.Objects, SizeBytes: part.Bytes}},
	}, nil
}

// relistDumpFiles writes the database part from status and the stored record, for a
// dump accepted before the dump files were listed, and returns the part as stored.
func (r *BackupRequestReconciler) relistDumpFiles(ctx context.Context, br *backupv1alpha1.BackupRequest, prov provider.Provider, bucket, prefix string, dump *manifest.DumpInfo) ([]byte, error) {
	record, err := provider.ReadSmallObject(ctx, prov, bucket, prefix+dump.ResultKey)
	r.observeCall("DownloadObject", err)
	if provider.IsNotFound(err) {
		return nil, &failure{backupv1alpha1.ReasonManifestFailed, fmt.Sprintf("the dump's record s3://%s/%s%s is gone; the backup is not trusted", bucket, prefix, dump.ResultKey)}
	}
	if err != nil {
		return nil, fmt.Errorf("read the dump's record: %w", err)
	}
	if _, err := r.listDumpFiles(ctx, prov, bucket, prefix, prefix+dump.Key, dump.SHA256, dump.SizeBytes, record); err != nil {
		return nil, err
	}
	data, err := provider.ReadSmallObject(ctx, prov, bucket, layout.DatabasePartKey(prefix))
	r.observeCall("DownloadObject", err)
	return data, err
}

// checkListedDump refuses a database part that does not list exactly the dump the
// manifest records, at its size and SHA-256, and its record.
func checkListedDump(found map[string]inventory.Entry, dump *manifest.DumpInfo, lines int64) error {
	d, ok := found[dump.Key]
	switch {
	case !ok:
		return fmt.Errorf("it does not list the dump %s", dump.Key)
	case d.Size != dump.SizeBytes || d.Checksum != dump.SHA256:
		return fmt.Errorf("it lists the dump %s at %d bytes, checksum %q; status records %d bytes, %s", dump.Key, d.Size, d.Checksum, dump.SizeBytes, dump.SHA256)
	}
	if _, ok := found[dump.ResultKey]; !ok {
		return fmt.Errorf("it does not list the dump's record %s", dump.ResultKey)
	}
	if lines != int64(len(found)) || len(found) != 2 {
		return fmt.Errorf("it lists %d lines, not the dump and its record", lines)
	}
	return nil
}

// removeDatabasePart deletes the dump files the backup's database part lists, then
// the part, so an interrupted removal resumes where it stopped. They are the backup's
// own under every strategy (never in a repository). A line outside database/ was not
// written by the dump step: the removal stops and keeps everything the part lists, as
// for a Full part.
func (r *BackupRequestReconciler) removeDatabasePart(ctx context.Context, prov provider.Provider, bucket, prefix, key string) error {
	_, err := r.removeListed(ctx, prov, bucket, prefix, key, layout.IsDatabaseKey, "not a file of "+layout.DatabaseDir)
	return err
}
