package controller

import (
	"context"
	"fmt"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// checkDump refuses, before the slot and any write, a dump this controller cannot
// take: no credentials, IAM authentication without an RDS instance to sign a token
// for, no place to store the dump, and a connection Secret that is missing or lacks
// a key. The Secret is read around the cache (one
// GET, no cluster-wide watch of Secrets), and only its key names are looked at,
// except port and engine, which must parse.
func (r *BackupRequestReconciler) checkDump(ctx context.Context, br *backupv1alpha1.BackupRequest) error {
	if !isDump(br) {
		return nil
	}
	db := br.Spec.Database
	if db.Dump == nil || db.Dump.ConnectionSecretRef == nil {
		return &failure{backupv1alpha1.ReasonDatabaseTypeNotSupported,
			"spec.database.dump.connectionSecretRef is required: it gives the database and user to dump, and the password unless authentication is IAM (of the instance, and so of the throw-away instance a Snapshot-source dump restores from its snapshot)"}
	}
	iam := db.Dump.IAMAuthentication()
	if iam {
		// The schema refuses these; objects stored before that rule are refused here.
		if db.InstanceID == "" || (br.Spec.Provider != "" && br.Spec.Provider != backupv1alpha1.ProviderAWS) {
			return &failure{backupv1alpha1.ReasonInvalidInput,
				"spec.database.dump.authentication IAM needs spec.database.instanceId on provider aws: an RDS IAM token logs in to an RDS instance"}
		}
		if r.iamRegion(br) == "" {
			return &failure{backupv1alpha1.ReasonInvalidInput, fmt.Sprintf(
				"spec.database.dump.authentication IAM: the store %q reports no region to sign an RDS IAM token for (set --aws-region)", br.Spec.Provider)}
		}
	}
	if _, _, ok := r.destination(br); !ok {
		return &failure{backupv1alpha1.ReasonInvalidInput,
			"a dump is stored with the backup, and this backup has no place: set spec.documentLibrary, or start the controller with --manifest-bucket for database-only backups"}
	}
	return checkConnectionSecret(ctx, r.APIReader, br.Namespace, db.Dump.ConnectionSecretRef.Name, "spec.database.dump.connectionSecretRef", connectionKeys, iam)
}

// iamRegion is the region an IAM dump's token is signed for: the region of br's
// store, where its RDS instance is; "" for a dump that logs in with a password.
func (r *BackupRequestReconciler) iamRegion(br *backupv1alpha1.BackupRequest) string {
	if db := br.Spec.Database; db == nil || !db.Dump.IAMAuthentication() || r.Providers == nil {
		return ""
	}
	name := br.Spec.Provider
	if name == "" {
		name = backupv1alpha1.ProviderAWS
	}
	prov, err := r.Providers.Get(string(name))
	if err != nil {
		return ""
	}
	return provider.RegionOf(prov)
}
