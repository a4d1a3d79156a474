package controller

import (
	"strings"
	"testing"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// objectStoreOnly is the fake cloud describing itself as a store without a database
// service, as gcp, azure and local do.
type objectStoreOnly struct{ *fake.Provider }

func (objectStoreOnly) Capabilities() provider.Capabilities { return provider.Capabilities{} }
func (objectStoreOnly) BucketTagCommand(bucket, key, value string) string {
	return "label " + bucket + " " + key + "=" + value
}

// A spec the named store cannot serve is refused before the slot, naming the field, and
// nothing is written: the schema refuses these for the providers it knows, the
// controller for any store configured without a database service.
func TestStoreWithoutDatabaseServiceRefusesDatabaseSpecsBeforeAnyWrite(t *testing.T) {
	dump := &backupv1alpha1.DatabaseDumpSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}
	for _, tc := range []struct {
		name, provider, reason, field string
		mutate                        func(*backupv1alpha1.BackupRequestSpec)
	}{
		{"an RDS snapshot on local", "local", "InvalidInput", "spec.database.instanceId", func(s *backupv1alpha1.BackupRequestSpec) {}},
		{"a snapshot type without an instance", "local", "InvalidInput", "spec.database.type", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database.InstanceID = ""
		}},
		{"a dump of a snapshot", "azure", "InvalidInput", "spec.database.dump.source", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump,
				Dump: &backupv1alpha1.DatabaseDumpSpec{Source: backupv1alpha1.DumpSourceSnapshot, ConnectionSecretRef: dump.ConnectionSecretRef}}
		}},
		{"a provider this controller does not serve", "digitalocean", "ProviderNotSupported", "--providers", func(s *backupv1alpha1.BackupRequestSpec) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newMachine(t, request("india", func(s *backupv1alpha1.BackupRequestSpec) {
				s.Provider = backupv1alpha1.CloudProvider(tc.provider)
				tc.mutate(s)
			}))
			m.r.Providers.Register("local", objectStoreOnly{m.cloud})
			m.r.Providers.Register("azure", objectStoreOnly{m.cloud})
			br := m.drive("india")
			ready := condition(br, backupv1alpha1.ConditionReady)
			if br.Status.Phase != backupv1alpha1.PhaseFailed || ready.Reason != tc.reason || !strings.Contains(br.Status.Message, tc.field) {
				t.Fatalf("want Failed %s naming %s, got %s %+v", tc.reason, tc.field, br.Status.Phase, ready)
			}
			if br.Status.Claim != nil {
				t.Fatalf("refused before the slot, yet claimed: %+v", br.Status.Claim)
			}
			if n := m.cloud.Calls("UploadObject") + m.cloud.Calls("CreateDatabaseSnapshot") + m.cloud.Calls("CopyObjectStorage"); n != 0 {
				t.Fatalf("%d cloud writes for a refused request", n)
			}
		})
	}
}

// The refusal of a bucket without the project's tag tells the user how to set it on
// that store, not on S3.
func TestOwnershipRefusalSpellsTheStoresOwnCommand(t *testing.T) {
	m := newMachine(t, request("juliet", func(s *backupv1alpha1.BackupRequestSpec) {
		s.Provider, s.Database = "local", nil
	}))
	m.r.Providers.Register("local", objectStoreOnly{m.cloud})
	m.cloud.SetBucketTags("liferay-retail-prd-dl", map[string]string{})
	br := m.drive("juliet")
	want := "label liferay-retail-prd-dl " + backupv1alpha1.OwnershipTagKey + "=retail"
	if br.Status.Phase != backupv1alpha1.PhaseFailed || !strings.Contains(br.Status.Message, want) || strings.Contains(br.Status.Message, "aws s3api") {
		t.Fatalf("want a refusal quoting %q, got %s: %s", want, br.Status.Phase, br.Status.Message)
	}
}

// The dumper of an Azure backup opts its pod into workload identity; the dumper of a
// local-store backup takes the store's keys from the connection Secret, by reference
// and optionally; an aws backup's dumper gets neither.
func TestDumpTaskCarriesTheStoresIdentity(t *testing.T) {
	r := &BackupRequestReconciler{}
	for _, tc := range []struct {
		provider  backupv1alpha1.CloudProvider
		podLabel  bool
		storeKeys []string
	}{
		{backupv1alpha1.ProviderAzure, true, nil},
		{backupv1alpha1.ProviderLocal, false, []string{provider.EnvLocalS3AccessKeyID, provider.EnvLocalS3SecretAccessKey}},
		{backupv1alpha1.ProviderAWS, false, nil},
	} {
		br := request("kilo", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Provider = tc.provider
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump,
				Dump: &backupv1alpha1.DatabaseDumpSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
		})
		task := r.dumpTask(br)
		if got := task.PodLabels[azureWorkloadIdentityLabel] == "true"; got != tc.podLabel {
			t.Errorf("%s: workload-identity label %v, want %v", tc.provider, got, tc.podLabel)
		}
		var keys []string
		for _, e := range task.Env {
			if e.Name != provider.EnvLocalS3AccessKeyID && e.Name != provider.EnvLocalS3SecretAccessKey {
				continue
			}
			ref := e.ValueFrom.SecretKeyRef
			if e.Value != "" || ref == nil || ref.Name != "retail-db" || ref.Optional == nil || !*ref.Optional {
				t.Errorf("%s: %s must come from Secret retail-db, optionally: %+v", tc.provider, e.Name, e)
			}
			keys = append(keys, e.Name)
		}
		if strings.Join(keys, ",") != strings.Join(tc.storeKeys, ",") {
			t.Errorf("%s: store keys %v, want %v", tc.provider, keys, tc.storeKeys)
		}
	}
}
