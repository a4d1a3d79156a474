package controller

import (
	"strings"
	"testing"

	"k8s.io/utils/ptr"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
)

func TestEngineMajorVersionIsWhatRDSTakesAsAVersion(t *testing.T) {
	for _, c := range []struct {
		engine   string
		versions []string
		want     string
	}{
		{"postgres", []string{"", "16.4 (Debian 16.4-1.pgdg120+1)"}, "16"},
		{"postgres", []string{"15.7", "16.4"}, "15"}, // the recorded instance's first
		{"postgres", []string{"", "9.6.24"}, "9.6"},
		{"mysql", []string{"", "8.0.36"}, "8.0"},
		{"mariadb", []string{"", "10.11.6-MariaDB-1:10.11.6+maria~ubu2204"}, "10.11"},
		{"mariadb", []string{"", "11.4.2-MariaDB"}, "11.4"},
		{"postgres", []string{"", "devel"}, ""},
		{"mysql", []string{"", "8"}, ""},
	} {
		if got := engineMajorVersion(c.engine, c.versions...); got != c.want {
			t.Errorf("engineMajorVersion(%s, %q) = %q, want %q", c.engine, c.versions, got, c.want)
		}
	}
}

func TestNewInstanceStorageIsThreeTimesTheDumpAtLeast20GiBOrTheSpecs(t *testing.T) {
	const gib = int64(1) << 30
	r := &RestoreRequestReconciler{}
	scope := func(dumpBytes int64, recordedGiB int32, spec *int32) *restoreScope {
		m := &manifest.Manifest{Database: &manifest.DatabaseInfo{Dump: &manifest.DumpInfo{Key: "database/dump.pgdump", SizeBytes: dumpBytes, Engine: "postgres"}}}
		if recordedGiB > 0 {
			m.Database.SourceInstance = &manifest.InstanceSettings{InstanceClass: "db.m5.large", AllocatedStorageGiB: recordedGiB}
		}
		rr := newRestore("sized", backupv1alpha1.RestoreRequestSpec{Database: &backupv1alpha1.DatabaseRestoreSpec{
			TargetInstanceID: "retail-new-db", ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "master"}, AllocatedStorageGiB: spec}})
		return &restoreScope{rr: rr, src: &loadedSource{manifest: m}}
	}
	for _, c := range []struct {
		name        string
		dumpBytes   int64
		recordedGiB int32
		spec        *int32
		want        int32
	}{
		{"a small dump gets the floor", 200 << 20, 0, nil, 20},
		{"a large dump three times its size, rounded up", 10*gib + 1, 0, nil, 33},
		{"the recorded source's when larger", 2 * gib, 500, nil, 500},
		{"the spec's whatever the dump", 10 * gib, 500, ptr.To[int32](40), 40},
	} {
		if got := r.newInstanceSettings(scope(c.dumpBytes, c.recordedGiB, c.spec)).AllocatedStorageGiB; got != c.want {
			t.Errorf("%s: %d GiB, want %d", c.name, got, c.want)
		}
	}
}

// A snapshot backup does not load into a Secret's database: targetInstanceId with
// connectionSecretRef is refused before any write, naming the field.
func TestASnapshotBackupWithANewInstanceAndASecretIsRefusedBeforeAnyWrite(t *testing.T) {
	m := newRestoreMachine(t)
	m.backup()
	m.create(newRestore("both", backupv1alpha1.RestoreRequestSpec{
		Source: backupv1alpha1.RestoreSource{BackupRequestName: "full"},
		Database: &backupv1alpha1.DatabaseRestoreSpec{TargetInstanceID: "retail-new-db",
			ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-master"}},
	}))
	rr := m.driveRR("both")
	if rr.Status.Phase != backupv1alpha1.RestorePhaseFailed || len(rr.Status.ValidationErrors) != 1 {
		t.Fatalf("phase %s, validation errors %q; want Failed with one", rr.Status.Phase, rr.Status.ValidationErrors)
	}
	if p := rr.Status.ValidationErrors[0]; !strings.HasPrefix(p, "spec.database.connectionSecretRef:") || !strings.Contains(p, "does not load into a Secret's database") {
		t.Errorf("problem %q does not name the field and say why", p)
	}
	for _, op := range []string{"CreateDatabaseInstance", "RestoreDatabaseInstance"} {
		if n := m.cloud.Calls(op); n != 0 {
			t.Errorf("%s called %d times before the refusal", op, n)
		}
	}
	if rr.Status.Database != nil {
		t.Errorf("status.database %+v, want none", rr.Status.Database)
	}
}
