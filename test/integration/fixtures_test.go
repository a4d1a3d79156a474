package integration

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// projectNamespace creates a namespace labelled as belonging to project.
func projectNamespace(name, project string) string {
	GinkgoHelper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{backupv1alpha1.ProjectLabel: project}}}
	Expect(k8sClient.Create(suiteCtx, ns)).To(Succeed())
	return name
}

// newBackupRequest is the shared test BackupRequest (test/fixtures/backups) of project in namespace.
func newBackupRequest(namespace, name, project string, opts ...backups.Option) *backupv1alpha1.BackupRequest {
	return backups.New(namespace, name, project, opts...)
}

func getBR(namespace, name string) *backupv1alpha1.BackupRequest {
	br := &backupv1alpha1.BackupRequest{}
	Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: namespace, Name: name}, br)).To(Succeed())
	return br
}

func phaseOf(namespace, name string) func() backupv1alpha1.BackupPhase {
	return func() backupv1alpha1.BackupPhase { return getBR(namespace, name).Status.Phase }
}

// prefixed returns keys with prefix put in front of each.
func prefixed(prefix string, keys []string) []any {
	out := make([]any, len(keys))
	for i, k := range keys {
		out[i] = prefix + k
	}
	return out
}

// keyOf names a namespaced object.
func keyOf(namespace, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: namespace, Name: name}
}

// sha256Hex is "sha256:" + the hex SHA-256 of data, computed here, not by the code under test.
func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}
