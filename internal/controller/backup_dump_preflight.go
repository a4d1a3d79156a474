package controller

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dump"
)

// checkDump refuses, before the slot and any write, a dump this controller cannot
// take: a source it does not build yet, no place to store the dump, and a connection
// Secret that is missing or lacks a key. The Secret is read around the cache (one
// GET, no cluster-wide watch of Secrets), and only its key names are looked at,
// except port and engine, which must parse.
func (r *BackupRequestReconciler) checkDump(ctx context.Context, br *backupv1alpha1.BackupRequest) error {
	if !isDump(br) {
		return nil
	}
	db := br.Spec.Database
	if db.DumpSourceOrDefault() == backupv1alpha1.DumpSourceSnapshot {
		return &failure{backupv1alpha1.ReasonDatabaseTypeNotSupported,
			"spec.database.dump.source \"Snapshot\" (the default when instanceId is set) is not built yet: set source: Instance with a connectionSecretRef to dump the database directly"}
	}
	if db.Dump == nil || db.Dump.ConnectionSecretRef == nil {
		return &failure{backupv1alpha1.ReasonDatabaseTypeNotSupported,
			"spec.database.dump.connectionSecretRef is required: dumping an RDS instance through its endpoint and an IAM token is not built yet"}
	}
	if _, _, ok := r.destination(br); !ok {
		return &failure{backupv1alpha1.ReasonInvalidInput,
			"a dump is stored with the backup, and this backup has no place: set spec.documentLibrary, or start the controller with --manifest-bucket for database-only backups"}
	}
	return r.checkConnectionSecret(ctx, br.Namespace, db.Dump.ConnectionSecretRef.Name)
}

// checkConnectionSecret refuses a connection Secret that does not exist or lacks a
// required key, naming the Secret and the key, never a value.
func (r *BackupRequestReconciler) checkConnectionSecret(ctx context.Context, namespace, name string) error {
	secret := &corev1.Secret{}
	where := fmt.Sprintf("Secret %s/%s (spec.database.dump.connectionSecretRef)", namespace, name)
	if err := r.APIReader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return &failure{backupv1alpha1.ReasonConnectionSecretInvalid, where + " does not exist"}
		}
		return fmt.Errorf("read %s: %w", where, err)
	}
	var missing []string
	for _, key := range []string{dump.SecretKeyHost, dump.SecretKeyDatabase, dump.SecretKeyUser, dump.SecretKeyPassword} {
		if len(secret.Data[key]) == 0 {
			missing = append(missing, strconv.Quote(key))
		}
	}
	if len(missing) > 0 {
		return &failure{backupv1alpha1.ReasonConnectionSecretInvalid, fmt.Sprintf("%s has no value for the key %s", where, strings.Join(missing, ", "))}
	}
	if port, ok := secret.Data[dump.SecretKeyPort]; ok {
		if n, err := strconv.Atoi(string(port)); err != nil || n < 1 || n > 65535 {
			return &failure{backupv1alpha1.ReasonConnectionSecretInvalid, where + `: key "port" is not a port number (1 to 65535)`}
		}
	}
	if engine, ok := secret.Data[dump.SecretKeyEngine]; ok {
		switch string(engine) {
		case "postgres", "mysql", "mariadb":
		default:
			return &failure{backupv1alpha1.ReasonConnectionSecretInvalid, where + `: key "engine" must be postgres, mysql or mariadb`}
		}
	}
	return nil
}
