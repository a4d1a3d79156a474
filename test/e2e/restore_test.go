//go:build e2e

package e2e

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// restoreYAML is a RestoreRequest of the BackupRequest backup: of its document library
// into bucket/prefix with the existing-objects policy when bucket is set, a
// verification when verifyOnly.
func restoreYAML(namespace, name, backup, bucket, prefix, existing string, verifyOnly bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, `apiVersion: backup.liferay.cloud/v1alpha1
kind: RestoreRequest
metadata:
  name: %s
  namespace: %s
spec:
  source:
    backupRequestName: %s
`, name, namespace, backup)
	if bucket != "" {
		fmt.Fprintf(&b, `  documentLibrary:
    targetBucket: %s
    targetPrefix: %q
    existingObjects: %s
`, bucket, prefix, existing)
	}
	if verifyOnly {
		b.WriteString("  verifyOnly: true\n")
	}
	return b.String()
}

func rrPath(namespace, name, path string) string {
	out, _ := kubectl("get", "rr", "-n", namespace, name, "-o", "jsonpath={"+path+"}")
	return strings.TrimSpace(out)
}

// restoreHistory is a RestoreRequest's row in the history database.
type restoreHistory struct {
	Phase, BackupID, TargetBucket, TargetPrefix, ExistingObjects string
	VerifyOnly                                                   bool
	ObjectsRestored, ObjectsSkipped                              int64
}

func restoreHistoryRow(uid string) (h restoreHistory, err error) {
	db, err := sql.Open("postgres", pg.URL)
	if err != nil {
		return h, err
	}
	defer func() { err = errors.Join(err, db.Close()) }()
	var backupID, bucket, prefix, existing sql.NullString
	var restored, skipped sql.NullInt64
	err = db.QueryRowContext(ctx, `SELECT phase, backup_id, target_bucket, target_prefix, existing_objects, verify_only,
		objects_restored, objects_skipped FROM restore_requests WHERE uid = $1`, uid).
		Scan(&h.Phase, &backupID, &bucket, &prefix, &existing, &h.VerifyOnly, &restored, &skipped)
	h.BackupID, h.TargetBucket, h.TargetPrefix, h.ExistingObjects = backupID.String, bucket.String, prefix.String, existing.String
	h.ObjectsRestored, h.ObjectsSkipped = restored.Int64, skipped.Int64
	return h, err
}

var _ = Describe("Restores driven through kubectl", Ordered, func() {
	const (
		ns      = "proj-library-prd"
		live    = "library-prd-dl"
		library = "document_library/"
		backup  = "library-backup"
	)
	var (
		docs     []string          // the backed-up documents, relative to document_library/
		original map[string][]byte // the live library when it was backed up
	)

	BeforeAll(func() {
		projectNamespace(ns, "library")
		cloud.CreateDBInstance("library-prd-db", fixtures.ProjectTag("library"))
		docs = cloud.SeedDocumentLibrary(live, 20, fixtures.ProjectTag("library"))
		cloud.CreateBucket("library-backups", fixtures.ProjectTag("library"))
		// Through the proxy (no delay unless a spec holds requests), so a spec can
		// stop a restore in the middle of its copy.
		startManager(slow.URL)

		out, err := kubectlApply(backupYAML(ns, backup, "library", "library-prd-db", live, "library-backups", "library/prd/1/"))
		Expect(err).NotTo(HaveOccurred(), out)
		mustKubectl("wait", "-n", ns, "br/"+backup, "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s")
		original = cloud.Contents(live, library)
		Expect(original).To(HaveLen(len(docs)+len(fixtures.GeneratedFiles)), "the documents and the generated files")
	})

	It("brings deleted files back with existingObjects: Skip, byte for byte, and touches nothing else", func() {
		By("deleting three documents from the live library, changing one and adding one")
		deleted := []string{library + docs[0], library + docs[7], library + docs[19]}
		for _, key := range deleted {
			_, err := cloud.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(live), Key: aws.String(key)})
			Expect(err).NotTo(HaveOccurred())
		}
		changed, added := library+docs[3], library+"20097/20121/9999/1.0"
		cloud.PutObject(live, changed, []byte("edited after the backup"))
		cloud.PutObject(live, added, []byte("uploaded after the backup"))
		before := cloud.Contents(live, library)
		Expect(before).NotTo(HaveKey(deleted[0]))

		By("restoring the backup into the live library with Skip")
		out, err := kubectlApply(restoreYAML(ns, "undelete", backup, live, library, "Skip", false))
		Expect(err).NotTo(HaveOccurred(), out)
		mustKubectl("wait", "-n", ns, "rr/undelete", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s")

		By("the deleted files are back with their backed-up bytes, everything else is as it was")
		after := cloud.Contents(live, library)
		want := map[string][]byte{}
		for k, v := range before {
			want[k] = v
		}
		for _, key := range deleted {
			Expect(after).To(HaveKey(key))
			Expect(after[key]).To(Equal(original[key]), "restored byte for byte: %s", key)
			want[key] = original[key]
		}
		Expect(after[changed]).To(Equal([]byte("edited after the backup")), "Skip leaves a present file alone, even one that differs")
		Expect(after[added]).To(Equal([]byte("uploaded after the backup")))
		for _, key := range fixtures.GeneratedFiles {
			Expect(after[key]).To(Equal(original[key]), "files the backup excluded are untouched")
		}
		Expect(after).To(Equal(want), "nothing but the deleted files changed")

		By("the status counts what was restored and what was left alone")
		Expect(rrPath(ns, "undelete", ".status.documentLibrary.objectsRestored")).To(Equal("3"))
		Expect(rrPath(ns, "undelete", ".status.documentLibrary.objectsSkipped")).To(Equal(strconv.Itoa(len(docs) - 3)))
		Expect(rrPath(ns, "undelete", `.status.conditions[?(@.type=="DocumentLibraryRestored")].status`)).To(Equal("True"))
		Expect(rrPath(ns, "undelete", `.status.conditions[?(@.type=="SourceVerified")].status`)).To(Equal("True"))
		backupID := rrPath(ns, "undelete", ".status.source.backupId")
		Expect(backupID).NotTo(BeEmpty())
		Expect(rrPath(ns, "undelete", ".status.source.projectId")).To(Equal("library"))

		By("recorded in PostgreSQL, then condition Archived")
		uid := rrPath(ns, "undelete", ".metadata.uid")
		Eventually(func(g Gomega) {
			h, err := restoreHistoryRow(uid)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(h).To(Equal(restoreHistory{Phase: "Succeeded", BackupID: backupID, TargetBucket: live, TargetPrefix: library,
				ExistingObjects: "Skip", ObjectsRestored: 3, ObjectsSkipped: int64(len(docs) - 3)}))
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		mustKubectl("wait", "-n", ns, "rr/undelete", "--for=condition=Archived", "--timeout=120s")

		wide := mustKubectl("get", "rr", "-n", ns, "undelete", "-o", "wide")
		Expect(wide).To(ContainSubstring("library"))
		Expect(wide).To(ContainSubstring("Succeeded"))
	})

	It("removes nothing restored when the Succeeded RestoreRequest is deleted, and refuses it when re-applied", func() {
		before := cloud.Contents(live, library)
		mustKubectl("delete", "rr", "-n", ns, "undelete", "--timeout=120s")
		Expect(cloud.Contents(live, library)).To(Equal(before), "a GitOps prune of a finished restore undoes nothing")

		By("the same restore re-applied (a GitOps re-sync after the prune) is refused from the history database")
		out, err := kubectlApply(restoreYAML(ns, "undelete", backup, live, library, "Skip", false))
		Expect(err).NotTo(HaveOccurred(), out)
		mustKubectl("wait", "-n", ns, "rr/undelete", "--for=jsonpath={.status.phase}=Failed", "--timeout=120s")
		Expect(rrPath(ns, "undelete", `.status.conditions[?(@.type=="SourceVerified")].reason`)).To(Equal("AlreadyRestored"))
		Expect(rrPath(ns, "undelete", ".status.validationErrors")).To(ContainSubstring("backup.liferay.cloud/allow-repeat"))
		Expect(cloud.Contents(live, library)).To(Equal(before))
		Eventually(func() string {
			return mustKubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=undelete,type=Warning")
		}).WithTimeout(2 * time.Minute).Should(ContainSubstring("AlreadyRestored"))
	})

	It("keeps a Succeeded RestoreRequest being deleted until its history row is written, so re-applying it is still refused", func() {
		const prefix = "history-wait/"
		By("holding the restore's copies, then stopping PostgreSQL before it succeeds")
		slow.Hold(harness.CopiesAfter(live, prefix, 0))
		DeferCleanup(slow.Release)
		out, err := kubectlApply(restoreYAML(ns, "history-wait", backup, live, prefix, "Skip", false))
		Expect(err).NotTo(HaveOccurred(), out)
		heldCtx, cancelHeld := context.WithTimeout(ctx, 2*time.Minute)
		defer cancelHeld()
		_, err = slow.WaitHeld(heldCtx, func(held []string) bool { return len(held) >= 1 })
		Expect(err).NotTo(HaveOccurred())
		Expect(pg.StopServer()).To(Succeed())
		pgStopped := true
		DeferCleanup(func() {
			if pgStopped {
				Expect(pg.StartServer(ctx)).To(Succeed())
			}
		})
		slow.Release()
		mustKubectl("wait", "-n", ns, "rr/history-wait", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s")
		Expect(rrPath(ns, "history-wait", ".status.archivedPhase")).
			NotTo(Equal("Succeeded"), "the database was down when the restore succeeded")
		restored := cloud.Contents(live, prefix)
		Expect(restored).To(HaveLen(len(docs)))

		By("deleting it while the history database is down: the finalizer holds it, and says why")
		mustKubectl("delete", "rr", "-n", ns, "history-wait", "--wait=false")
		Eventually(func() string {
			return mustKubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=history-wait,reason=AwaitingHistory")
		}).WithTimeout(2 * time.Minute).Should(ContainSubstring("history database"))
		Consistently(func() string { return rrPath(ns, "history-wait", ".metadata.deletionTimestamp") }).
			WithTimeout(3*time.Second).ShouldNot(BeEmpty(), "still there, being deleted")

		By("PostgreSQL back: the row is written, then the RestoreRequest goes, its restored files kept")
		Expect(pg.StartServer(ctx)).To(Succeed())
		pgStopped = false
		Eventually(func() error {
			_, err := kubectl("get", "rr", "-n", ns, "history-wait")
			return err
		}).WithTimeout(2 * time.Minute).Should(HaveOccurred())
		Expect(cloud.Contents(live, prefix)).To(Equal(restored))

		By("applied again, it is refused from the history")
		out, err = kubectlApply(restoreYAML(ns, "history-wait", backup, live, prefix, "Skip", false))
		Expect(err).NotTo(HaveOccurred(), out)
		mustKubectl("wait", "-n", ns, "rr/history-wait", "--for=jsonpath={.status.phase}=Failed", "--timeout=120s")
		Expect(rrPath(ns, "history-wait", `.status.conditions[?(@.type=="SourceVerified")].reason`)).To(Equal("AlreadyRestored"))
		Expect(rrPath(ns, "history-wait", ".status.validationErrors")).To(And(
			ContainSubstring("already restored into these targets by "+ns+"/history-wait at "), ContainSubstring("backup.liferay.cloud/allow-repeat")))
		Expect(cloud.Contents(live, prefix)).To(Equal(restored))
	})

	It("verifies the backup with verifyOnly and writes nothing", func() {
		before := cloud.Contents(live, library)
		out, err := kubectlApply(restoreYAML(ns, "verify", backup, "", "", "", true))
		Expect(err).NotTo(HaveOccurred(), out)
		mustKubectl("wait", "-n", ns, "rr/verify", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s")
		Expect(rrPath(ns, "verify", `.status.conditions[?(@.type=="Verified")].reason`)).To(Equal("Intact"))
		Expect(rrPath(ns, "verify", ".status.verification.objectsChecked")).To(Equal(strconv.Itoa(len(docs))))
		Expect(rrPath(ns, "verify", ".status.verification.objectsMissing")).To(BeElementOf("", "0"))
		Expect(cloud.Contents(live, library)).To(Equal(before))
		uid := rrPath(ns, "verify", ".metadata.uid")
		Eventually(func(g Gomega) {
			h, err := restoreHistoryRow(uid)
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(h.Phase).To(Equal("Succeeded"))
			g.Expect(h.VerifyOnly).To(BeTrue())
		}).WithTimeout(2 * time.Minute).Should(Succeed())
	})
})
