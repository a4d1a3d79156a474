package controller

import (
	"context"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// checkDump refuses, before the slot and any write, a dump this controller cannot
// take: no credentials, no place to store the dump, and a connection
// Secret that is missing or lacks a key. The Secret is read around the cache (one
// GET, no cluster-wide watch of Secrets), and only its key names are looked at,
// except port and engine, which must parse.
func (r *BackupRequestReconciler) checkDump(ctx context.Context, br *backupv1alpha1.BackupRequest) error {
	if !isDump(br) {
		return nil
	}
	db := br.Spec.Database
	if db.Dump == nil || db.Dump.ConnectionSecretRef == nil {
		return &failure{backupv1alpha1.ReasonDatabaseTypeNotSupported,
			"spec.database.dump.connectionSecretRef is required: it gives the database, user and password to dump (of the instance, and so of the throw-away instance a Snapshot-source dump restores from its snapshot); an RDS IAM token instead is not built yet"}
	}
	if _, _, ok := r.destination(br); !ok {
		return &failure{backupv1alpha1.ReasonInvalidInput,
			"a dump is stored with the backup, and this backup has no place: set spec.documentLibrary, or start the controller with --manifest-bucket for database-only backups"}
	}
	return checkConnectionSecret(ctx, r.APIReader, br.Namespace, db.Dump.ConnectionSecretRef.Name, "spec.database.dump.connectionSecretRef", connectionKeys)
}
