package controller

import (
	"testing"

	"k8s.io/apimachinery/pkg/types"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
)

// TestRestoreUsesTheProviderItsBackupNames: a restore of a backup taken with another
// provider reads, writes and cancels with that provider, not AWS's.
func TestRestoreUsesTheProviderItsBackupNames(t *testing.T) {
	m := newRestoreMachine(t)
	gcpOnly := provider.NewRegistry()
	gcpOnly.Register(string(backupv1alpha1.ProviderGCP), m.cloud)
	m.r.Providers, m.rr.Providers = gcpOnly, gcpOnly
	br := backups.New(restoreNS, "full", "retail", backups.Full("retail-prd-db", "liferay-retail-prd-dl", "liferay-backups", "retail/prd/full/"))
	br.UID, br.Spec.Provider = "uid-full", backupv1alpha1.ProviderGCP
	if err := m.client.Create(m.ctx, br); err != nil {
		t.Fatal(err)
	}
	if got := m.drive("full"); got.Status.Phase != backupv1alpha1.PhaseSucceeded {
		t.Fatalf("backup: %s %s", got.Status.Phase, got.Status.Message)
	}
	m.create(fullRestore("restore", "retail-restored-db", "document_library/"))
	if rr := m.driveRR("restore"); rr.Status.Phase != backupv1alpha1.RestorePhaseSucceeded {
		t.Fatalf("restore: %s %s", rr.Status.Phase, rr.Status.Message)
	}
	if err := m.client.Delete(m.ctx, m.getRR("restore")); err != nil {
		t.Fatal(err)
	}
	if _, err := m.reconcileRR("restore"); err != nil {
		t.Fatalf("delete with the backup's provider: %v", err)
	}
	if err := m.client.Get(m.ctx, types.NamespacedName{Namespace: restoreNS, Name: "restore"}, &backupv1alpha1.RestoreRequest{}); err == nil {
		t.Fatal("the restore's finalizer was not removed")
	}
}

// TestRestoreProviderName: the BackupRequest's spec.provider when the source names
// one that is there; otherwise the manifest URL's scheme; otherwise the API default.
func TestRestoreProviderName(t *testing.T) {
	gcp := backups.New(restoreNS, "gcp-backup", "retail", backups.Full("retail-prd-db", "liferay-retail-prd-dl", "liferay-backups", "retail/prd/gcp/"))
	gcp.UID, gcp.Spec.Provider = "uid-gcp", backupv1alpha1.ProviderGCP
	m := newRestoreMachine(t, gcp)
	fromRequest := func(name string) backupv1alpha1.RestoreRequestSpec {
		return backupv1alpha1.RestoreRequestSpec{Source: backupv1alpha1.RestoreSource{BackupRequestName: name}}
	}
	cases := []struct {
		name string
		rr   *backupv1alpha1.RestoreRequest
		want backupv1alpha1.CloudProvider
	}{
		{"the backup request's provider", newRestore("a", fromRequest("gcp-backup")), backupv1alpha1.ProviderGCP},
		{"a manifest URL's scheme", newRestore("b", backupv1alpha1.RestoreRequestSpec{
			Source: backupv1alpha1.RestoreSource{Manifest: "s3://liferay-backups/retail/prd/x/manifest.json"}}), backupv1alpha1.ProviderAWS},
		{"a manifest URL on the store spec.source.provider names", newRestore("f", backupv1alpha1.RestoreRequestSpec{
			Source: backupv1alpha1.RestoreSource{Manifest: "s3://liferay-backups/retail/prd/x/manifest.json", Provider: backupv1alpha1.ProviderAzure}}), backupv1alpha1.ProviderAzure},
		{"a backup request that is gone, before resolution", newRestore("c", fromRequest("gone")), defaultBackupProvider},
		{"a manifest URL the controller does not read", newRestore("d", backupv1alpha1.RestoreRequestSpec{
			Source: backupv1alpha1.RestoreSource{Manifest: "https://example.com/manifest.json"}}), defaultBackupProvider},
	}
	replaced := newRestore("e", fromRequest("gcp-backup"))
	replaced.Status.Source = &backupv1alpha1.ResolvedBackup{BackupRequestUID: "uid-older", ManifestLocation: "s3://liferay-backups/retail/prd/old/manifest.json"}
	cases = append(cases, struct {
		name string
		rr   *backupv1alpha1.RestoreRequest
		want backupv1alpha1.CloudProvider
	}{"a backup request replaced since resolution: the resolved manifest's URL", replaced, backupv1alpha1.ProviderAWS})
	for _, tc := range cases {
		got, err := m.rr.restoreProviderName(m.ctx, tc.rr)
		if err != nil || got != tc.want {
			t.Errorf("%s: %q, %v; want %q", tc.name, got, err, tc.want)
		}
	}
}
