package controller

import (
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/provider"
	"github.com/liferay/lc2-backup-controller/internal/provider/fake"
)

// iamDump is a dump of the RDS instance retail-prd-db (or, without instance, of the
// Secret's server) that logs in with an RDS IAM token, through the Secret secret.
func iamDump(name, secret, instance string) *backupv1alpha1.BackupRequest {
	return request(name, func(s *backupv1alpha1.BackupRequestSpec) {
		s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, InstanceID: instance,
			Dump: &backupv1alpha1.DatabaseDumpSpec{Authentication: backupv1alpha1.DatabaseAuthIAM,
				ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: secret}}}
	})
}

func connectionSecret(name string, data map[string]string) *corev1.Secret {
	return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "proj-retail-prd", Name: name}, StringData: data,
		Data: func() map[string][]byte {
			out := map[string][]byte{}
			for k, v := range data {
				out[k] = []byte(v)
			}
			return out
		}()}
}

// With IAM a Secret without a password passes the preflight (a token replaces it),
// where the same Secret fails a Password dump; IAM without an RDS instance, or with an
// sslmode that may go without TLS, is refused naming the field or the key.
func TestIAMDumpPreflight(t *testing.T) {
	noPassword := map[string]string{"host": "retail-prd-db.rds.example", "database": "lportal", "user": "lportal_iam"}
	plaintext := map[string]string{"host": "retail-prd-db.rds.example", "database": "lportal", "user": "lportal_iam", "sslmode": "disable"}
	m := newMachine(t, connectionSecret("iam-db", noPassword), connectionSecret("iam-db-plain", plaintext))

	if err := m.r.checkDump(m.ctx, iamDump("iam-1", "iam-db", "retail-prd-db")); err != nil {
		t.Fatalf("an IAM dump of an RDS instance through a Secret without a password: want it accepted, got %v", err)
	}
	password := iamDump("iam-2", "iam-db", "retail-prd-db")
	password.Spec.Database.Dump.Authentication = ""
	for _, tc := range []struct {
		name   string
		br     *backupv1alpha1.BackupRequest
		reason backupv1alpha1.Reason
		says   string
	}{
		{"IAM on a Secret-only dump", iamDump("iam-3", "iam-db", ""), backupv1alpha1.ReasonInvalidInput,
			"spec.database.dump.authentication IAM needs spec.database.instanceId"},
		{"a Password dump without a password", password, backupv1alpha1.ReasonConnectionSecretInvalid, `no value for the key "password"`},
		{"IAM with sslmode disable", iamDump("iam-4", "iam-db-plain", "retail-prd-db"), backupv1alpha1.ReasonConnectionSecretInvalid,
			`key "sslmode" is disable, but an RDS IAM token is sent only over TLS`},
	} {
		err := m.r.checkDump(m.ctx, tc.br)
		var f *failure
		if !errors.As(err, &f) || f.reason != tc.reason || !strings.Contains(f.message, tc.says) {
			t.Errorf("%s: want %s saying %q, got %v", tc.name, tc.reason, tc.says, err)
		}
	}
}

// An IAM dump's run gets no password at all, not even by reference: it gets the
// IAM switch and the store's region instead, and every Secret key still by reference.
func TestIAMDumpTaskCarriesNoPassword(t *testing.T) {
	m := newMachine(t)
	br := iamDump("iam-5", "iam-db", "retail-prd-db")
	br.Spec.Database.Dump.Source = backupv1alpha1.DumpSourceInstance
	env := map[string]corev1.EnvVar{}
	for _, e := range m.r.dumpTask(br).Env {
		env[e.Name] = e
		if ref := e.ValueFrom; ref != nil && ref.SecretKeyRef != nil && ref.SecretKeyRef.Key == dump.SecretKeyPassword {
			t.Errorf("%s takes the Secret's password", e.Name)
		}
	}
	if _, ok := env[dump.EnvPassword]; ok {
		t.Errorf("an IAM dump's run has %s", dump.EnvPassword)
	}
	if env[dump.EnvAuth].Value != dump.AuthIAM || env[dump.EnvIAMRegion].Value != fake.Region {
		t.Errorf("want %s=%s and %s=%s, got %+v and %+v", dump.EnvAuth, dump.AuthIAM, dump.EnvIAMRegion, fake.Region, env[dump.EnvAuth], env[dump.EnvIAMRegion])
	}
	for _, name := range []string{dump.EnvHost, dump.EnvUser, dump.EnvDatabase, dump.EnvSSLMode} {
		if e := env[name]; e.Value != "" || e.ValueFrom == nil || e.ValueFrom.SecretKeyRef == nil || e.ValueFrom.SecretKeyRef.Name != "iam-db" {
			t.Errorf("%s must come from Secret iam-db by reference: %+v", name, e)
		}
	}

	br.Spec.Database.Dump.Authentication = backupv1alpha1.DatabaseAuthPassword
	env = map[string]corev1.EnvVar{}
	for _, e := range m.r.dumpTask(br).Env {
		env[e.Name] = e
	}
	if _, ok := env[dump.EnvAuth]; ok || env[dump.EnvPassword].ValueFrom == nil {
		t.Errorf("a Password dump takes the password by reference and no IAM switch: %+v", env)
	}
}

// The throw-away instance of an IAM dump of the snapshot is restored with IAM
// authentication enabled (a snapshot does not carry it); a Password dump's is not.
func TestIAMDumpInstanceTakesTokens(t *testing.T) {
	for _, auth := range []backupv1alpha1.DatabaseAuthentication{backupv1alpha1.DatabaseAuthIAM, backupv1alpha1.DatabaseAuthPassword} {
		m := newMachine(t)
		br := iamDump("iam-6", "iam-db", "retail-prd-db")
		br.Spec.Database.Dump.Authentication = auth
		snap, err := m.cloud.CreateDatabaseSnapshot(m.ctx, provider.CreateSnapshotRequest{InstanceID: "retail-prd-db", Owner: owner(br)})
		if err != nil {
			t.Fatal(err)
		}
		m.clock.Step(m.cloud.SnapshotReadyAfter)
		br.Status.Database = &backupv1alpha1.DatabaseBackupStatus{SnapshotID: snap.SnapshotID}
		s := m.r.newScope(br, m.cloud)
		if _, err := m.r.startDumpInstance(m.ctx, s); err != nil {
			t.Fatalf("%s: %v", auth, err)
		}
		inst, err := m.cloud.DescribeDatabaseInstance(m.ctx, dumpInstanceID(br))
		if err != nil {
			t.Fatal(err)
		}
		if inst.IAMAuthentication != (auth == backupv1alpha1.DatabaseAuthIAM) {
			t.Errorf("%s: the throw-away instance has IAM authentication %v", auth, inst.IAMAuthentication)
		}
	}
}
