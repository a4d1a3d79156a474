package integration

import (
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
)

// A request the spec alone refuses is refused before the first write: a destination
// inside its own source (the hotel case) would otherwise have its claim written into
// the live document library, and then expire 30 days later.
var _ = Describe("Refusals decided from the spec write nothing", Ordered, func() {
	const (
		project = "hotel"
		ns      = "proj-hotel-prd"
		db      = "hotel-prd-db"
		library = "hotel-dl"
	)
	var ctrlr *runningController
	// hotel backs up hotel/dl/ of the library bucket into hotel/dl/backup/ of the same bucket.
	hotel := func(name string) *backupv1alpha1.BackupRequest {
		br := newBackupRequest(ns, name, project, backups.Full(db, library, library, "hotel/dl/backup/"), backups.Retention(30))
		br.Spec.DocumentLibrary.SourcePrefix = "hotel/dl/"
		return br
	}

	BeforeAll(func() {
		projectNamespace(ns, project)
		cloud.CreateDBInstance(db, fixtures.ProjectTag(project))
		cloud.CreateBucket(library, fixtures.ProjectTag(project))
		for _, key := range []string{"hotel/dl/20097/1.0", "hotel/dl/20097/2.0", "hotel/other.txt"} {
			cloud.PutObject(library, key, []byte("live "+key))
		}
		ctrlr = startController(moto.Endpoint, controllerOptions())
		DeferCleanup(func() { ctrlr.Stop() })
	})

	It("refuses the hotel case at the API, naming the field", func() {
		err := k8sClient.Create(suiteCtx, hotel("hotel-api"))
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec.documentLibrary.destinationPrefix"))
		Expect(err.Error()).To(ContainSubstring("must not overlap sourcePrefix"))
	})

	It("fails a hotel request stored before the schema rule InvalidInput, writing nothing and never expiring", func() {
		withoutOverlapRule()
		before := cloud.Contents(library, "")
		snapshots := cloud.SnapshotIDs(db)
		Eventually(func() error { return k8sClient.Create(suiteCtx, hotel("hotel")) }).WithTimeout(30 * time.Second).Should(Succeed())
		Eventually(phaseOf(ns, "hotel")).WithTimeout(90 * time.Second).Should(Equal(backupv1alpha1.PhaseFailed))
		br := getBR(ns, "hotel")
		Expect(br.Status.Condition(backupv1alpha1.ConditionReady).Reason).To(BeEquivalentTo(backupv1alpha1.ReasonInvalidInput))
		Expect(br.Status.Message).To(ContainSubstring("spec.documentLibrary.destinationPrefix"))
		Expect(br.Status.Message).To(ContainSubstring("spec.documentLibrary.sourcePrefix"))
		Expect(br.Status.Claim).To(BeNil())
		Expect(br.Status.ExpiresAt).To(BeNil(), "a request refused before its first write has nothing to expire")
		after := cloud.Contents(library, "")
		Expect(after).To(HaveLen(len(before)), "keys %v", keysOf(after))
		for key, data := range before {
			Expect(after).To(HaveKeyWithValue(key, data))
		}
		Expect(cloud.SnapshotIDs(db)).To(ConsistOf(snapshots), "no snapshot for a refused request")
	})
})

func keysOf(m map[string][]byte) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// withoutOverlapRule removes, for the rest of the spec, the schema rule refusing a
// document-library destination overlapping its source, as on a cluster whose CRD
// predates it: the controller's own check is then what refuses.
func withoutOverlapRule() {
	GinkgoHelper()
	crd := &unstructured.Unstructured{}
	crd.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiextensions.k8s.io", Version: "v1", Kind: "CustomResourceDefinition"})
	key := client.ObjectKey{Name: "backuprequests." + backupv1alpha1.GroupVersion.Group}
	Expect(k8sClient.Get(suiteCtx, key, crd)).To(Succeed())
	original, _, err := unstructured.NestedSlice(crd.Object, "spec", "versions")
	Expect(err).NotTo(HaveOccurred())
	versions := make([]any, len(original))
	removed := 0
	for i, v := range original {
		version := (&unstructured.Unstructured{Object: v.(map[string]any)}).DeepCopy().Object
		path := []string{"schema", "openAPIV3Schema", "properties", "spec", "properties", "documentLibrary", "x-kubernetes-validations"}
		rules, _, err := unstructured.NestedSlice(version, path...)
		Expect(err).NotTo(HaveOccurred())
		var kept []any
		for _, r := range rules {
			if strings.Contains(r.(map[string]any)["rule"].(string), "self.sourceBucket != self.destinationBucket") {
				removed++
				continue
			}
			kept = append(kept, r)
		}
		if len(kept) == 0 {
			unstructured.RemoveNestedField(version, path...)
		} else {
			Expect(unstructured.SetNestedSlice(version, kept, path...)).To(Succeed())
		}
		versions[i] = version
	}
	Expect(removed).To(BeNumerically(">", 0), "the CRD has no overlap rule to remove")
	Expect(unstructured.SetNestedSlice(crd.Object, versions, "spec", "versions")).To(Succeed())
	Expect(k8sClient.Update(suiteCtx, crd)).To(Succeed())
	DeferCleanup(func() {
		Eventually(func() error {
			if err := k8sClient.Get(suiteCtx, key, crd); err != nil {
				return err
			}
			if err := unstructured.SetNestedSlice(crd.Object, original, "spec", "versions"); err != nil {
				return err
			}
			return k8sClient.Update(suiteCtx, crd)
		}).WithTimeout(30 * time.Second).Should(Succeed())
	})
}
