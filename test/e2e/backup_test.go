//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/manifest"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

var _ = Describe("Backups driven through kubectl", Ordered, func() {
	const ns = "proj-retail-prd"
	var wanted []string

	BeforeAll(func() {
		projectNamespace(ns, "retail")
		// Owned as the controller requires before any write: the instance and the source
		// bucket by the project, the backup bucket shared between projects.
		cloud.CreateDBInstance("retail-prd-db", fixtures.ProjectTag("retail"))
		wanted = cloud.SeedDocumentLibrary("liferay-test-dl", 25, fixtures.ProjectTag("retail"))
		cloud.CreateBucket("liferay-backups", fixtures.SharedBucketTag())
		// Another project's resources, and a bucket nobody claimed.
		cloud.CreateDBInstance("bank-prd-db", fixtures.ProjectTag("bank"))
		cloud.SeedDocumentLibrary("liferay-bank-dl", 3, fixtures.ProjectTag("bank"))
		cloud.CreateBucket("unowned-backups")
		startManager(moto.Endpoint)
	})

	It("backs up the sample: snapshot, copied objects, verified manifest and a PostgreSQL record", func() {
		out, err := kubectlApply(backupYAML(ns, "retail-prd-backup-20251109", "retail", "retail-prd-db", "liferay-test-dl", "liferay-backups", "retail/prd/20251109/"))
		Expect(err).NotTo(HaveOccurred(), out)
		mustKubectl("wait", "-n", ns, "br/retail-prd-backup-20251109", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s")

		By("snapshot created in RDS")
		snapshot := jsonpath(ns, "retail-prd-backup-20251109", ".status.database.snapshotId")
		Expect(cloud.SnapshotIDs("retail-prd-db")).To(ConsistOf(snapshot))

		By("objects copied under data/, generated files left out")
		Expect(cloud.ListKeys("liferay-backups", "retail/prd/20251109/data/")).To(Equal(wanted))
		Expect(jsonpath(ns, "retail-prd-backup-20251109", ".status.documentLibrary.objectsTotal")).To(Equal(strconv.Itoa(len(wanted))))
		Expect(cloud.ListKeys("liferay-backups", "retail/prd/20251109/")).To(ContainElements("claim.json", "manifest.json"))

		By("manifest generated and verified, in Go and in Python")
		data := cloud.GetObject("liferay-backups", "retail/prd/20251109/manifest.json")
		m, err := manifest.Verify(data)
		Expect(err).NotTo(HaveOccurred())
		Expect(harness.VerifyManifestInPython(data)).To(Succeed())
		Expect(m.DocumentLibrary.Inventory.ObjectCount).To(BeEquivalentTo(len(wanted)))
		Expect(m.Checksum).To(Equal(jsonpath(ns, "retail-prd-backup-20251109", ".status.manifest.checksum")))
		Expect(m.DocumentLibrary.ObjectCount).To(BeEquivalentTo(len(wanted)))

		By("history recorded in PostgreSQL, then condition Archived")
		Eventually(func(g Gomega) {
			phase, snap, sum, objects, err := historyRow(ns, "retail-prd-backup-20251109")
			g.Expect(err).NotTo(HaveOccurred())
			g.Expect(phase).To(Equal("Succeeded"))
			g.Expect(snap).To(Equal(snapshot))
			g.Expect(sum).To(Equal(m.Checksum))
			g.Expect(objects).To(BeEquivalentTo(len(wanted)))
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		mustKubectl("wait", "-n", ns, "br/retail-prd-backup-20251109", "--for=condition=Archived", "--timeout=120s")

		By("kubectl shows the wide columns")
		wide := mustKubectl("get", "br", "-n", ns, "retail-prd-backup-20251109", "-o", "wide")
		Expect(wide).To(ContainSubstring(snapshot))
		Expect(wide).To(ContainSubstring("Succeeded"))
		lines := strings.Split(strings.TrimSpace(wide), "\n")
		Expect(lines).To(HaveLen(2))
		Expect(strings.Fields(lines[0])[3:8]).To(Equal([]string{"PHASE", "REASON", "SNAPSHOT", "MODE", "OBJECTS"}))
		Expect(strings.Fields(lines[1])[4]).To(Equal("Succeeded"), "REASON is the Ready condition's")
		Expect(strings.Fields(lines[1])[6]).To(Equal("Full"))
		Expect(strings.Fields(lines[1])[7]).To(Equal(strconv.Itoa(len(wanted))), "OBJECTS shows the objects the backup holds")
	})

	It("never runs more than two backups of a project at once, seen through kubectl get br -w", func() {
		watch := exec.CommandContext(ctx, kubectlBin, "--kubeconfig", kubeconfig, "get", "br", "-n", ns, "-w",
			"-o", "custom-columns=NAME:.metadata.name,PHASE:.status.phase", "--no-headers")
		stdout, err := watch.StdoutPipe()
		Expect(err).NotTo(HaveOccurred())
		Expect(watch.Start()).To(Succeed())
		defer func() { _ = watch.Process.Kill(); _ = watch.Wait() }()
		var mu sync.Mutex
		phase := map[string]string{}
		peak := 0
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				f := strings.Fields(sc.Text())
				if len(f) != 2 || !strings.HasPrefix(f[0], "concurrent-") {
					continue
				}
				mu.Lock()
				phase[f[0]] = f[1]
				n := 0
				for _, p := range phase {
					if p == "InProgress" {
						n++
					}
				}
				peak = max(peak, n)
				mu.Unlock()
			}
		}()

		var docs []string
		for i := range 5 {
			docs = append(docs, backupYAML(ns, "concurrent-"+strconv.Itoa(i), "retail", "retail-prd-db", "", "", ""))
		}
		out, err := kubectlApply(strings.Join(docs, "---\n"))
		Expect(err).NotTo(HaveOccurred(), out)
		for i := range 5 {
			mustKubectl("wait", "-n", ns, "br/concurrent-"+strconv.Itoa(i), "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s")
		}
		mu.Lock()
		defer mu.Unlock()
		Expect(peak).To(Equal(2), "at most, and actually, two InProgress at once")
	})

	It("reports failures clearly: bad input refused by the API, a missing instance Failed with a Warning event", func() {
		out, err := kubectlApply(backupYAML(ns, "bad-input", "retail", "retail--db", "", "", ""))
		Expect(err).To(HaveOccurred())
		Expect(out).To(ContainSubstring("spec.database.instanceId"))
		Expect(out).To(ContainSubstring("must not contain '--'"))

		out, err = kubectlApply(backupYAML(ns, "missing-instance", "retail", "retail-prd-missing", "", "", ""))
		Expect(err).NotTo(HaveOccurred(), out)
		mustKubectl("wait", "-n", ns, "br/missing-instance", "--for=jsonpath={.status.phase}=Failed", "--timeout=120s")
		Expect(jsonpath(ns, "missing-instance", `.status.conditions[?(@.type=="Ready")].reason`)).To(Equal("NotFound"))
		Expect(jsonpath(ns, "missing-instance", ".status.message")).To(ContainSubstring("retail-prd-missing"))
		Eventually(func() string {
			return mustKubectl("get", "events", "-n", ns, "--field-selector", "involvedObject.name=missing-instance,type=Warning")
		}).WithTimeout(2 * time.Minute).Should(ContainSubstring("NotFound"))

		out, err = kubectlApply(backupYAML(ns, "other-project", "bank", "retail-prd-db", "", "", ""))
		Expect(err).NotTo(HaveOccurred(), out)
		mustKubectl("wait", "-n", ns, "br/other-project", "--for=jsonpath={.status.phase}=Failed", "--timeout=120s")
		Expect(jsonpath(ns, "other-project", `.status.conditions[?(@.type=="Ready")].reason`)).To(Equal("ProjectMismatch"))
	})

	It("refuses resources another project owns, or nobody does: ResourceNotOwned, nothing created", func() {
		refused := func(name, resource string) {
			GinkgoHelper()
			mustKubectl("wait", "-n", ns, "br/"+name, "--for=jsonpath={.status.phase}=Failed", "--timeout=120s")
			Expect(jsonpath(ns, name, `.status.conditions[?(@.type=="Ready")].reason`)).To(Equal("ResourceNotOwned"))
			msg := jsonpath(ns, name, ".status.message")
			Expect(msg).To(ContainSubstring(resource), "the message names the resource")
			Expect(msg).To(ContainSubstring(backupv1alpha1.OwnershipTagKey), "the message names the tag to add")
		}

		By("another project's database instance")
		out, err := kubectlApply(backupYAML(ns, "foreign-instance", "retail", "bank-prd-db", "", "", ""))
		Expect(err).NotTo(HaveOccurred(), out)
		refused("foreign-instance", "bank-prd-db")
		Expect(cloud.SnapshotIDs("bank-prd-db")).To(BeEmpty())

		By("another project's document library")
		out, err = kubectlApply(backupYAML(ns, "foreign-source", "retail", "", "liferay-bank-dl", "liferay-backups", "retail/prd/foreign-source/"))
		Expect(err).NotTo(HaveOccurred(), out)
		refused("foreign-source", "liferay-bank-dl")
		Expect(cloud.ListKeys("liferay-backups", "retail/prd/foreign-source/")).To(BeEmpty())

		By("a destination bucket without the project or the shared-bucket tag")
		snapshotsBefore := cloud.SnapshotIDs("retail-prd-db")
		out, err = kubectlApply(backupYAML(ns, "unowned-destination", "retail", "retail-prd-db", "liferay-test-dl", "unowned-backups", "retail/prd/unowned/"))
		Expect(err).NotTo(HaveOccurred(), out)
		refused("unowned-destination", "unowned-backups")
		Expect(cloud.ListKeys("unowned-backups", "")).To(BeEmpty())
		Expect(cloud.SnapshotIDs("retail-prd-db")).To(ConsistOf(snapshotsBefore), "no snapshot taken before the refusal")
	})
})

var _ = Describe("A controller killed mid-backup", Ordered, func() {
	It("resumes after SIGKILL and a restart, with exactly one snapshot", func() {
		const ns = "proj-media-prd"
		projectNamespace(ns, "media")
		// The project owns all three, its backup bucket included (not shared).
		cloud.CreateDBInstance("media-prd-db", fixtures.ProjectTag("media"))
		cloud.SeedDocumentLibrary("liferay-media-dl", 250, fixtures.ProjectTag("media"))
		cloud.CreateBucket("media-backups", fixtures.ProjectTag("media"))
		By("letting 10 copies through, then holding both copy workers (COPY_CONCURRENCY=2)")
		slow.Hold(harness.CopiesAfter("media-backups", "media/prd/1/", 10))
		DeferCleanup(slow.Release)
		first := startManager(slow.URL)

		out, err := kubectlApply(backupYAML(ns, "media-backup", "media", "media-prd-db", "liferay-media-dl", "media-backups", "media/prd/1/"))
		Expect(err).NotTo(HaveOccurred(), out)
		heldCtx, cancelHeld := context.WithTimeout(ctx, 2*time.Minute)
		defer cancelHeld()
		held, err := slow.WaitHeld(heldCtx, func(held []string) bool { return len(held) >= 2 })
		Expect(err).NotTo(HaveOccurred(), "parked: %v", held)

		By("SIGKILL while copying")
		first.Kill()
		slow.Release()
		Expect(jsonpath(ns, "media-backup", ".status.phase")).To(Equal("InProgress"))
		before := len(cloud.ListKeys("media-backups", "media/prd/1/data/"))
		Expect(before).To(Equal(10), "killed in the middle of the copy")

		By("a new controller process finishes the backup")
		startManager(slow.URL)
		mustKubectl("wait", "-n", ns, "br/media-backup", "--for=jsonpath={.status.phase}=Succeeded", "--timeout=120s")
		Expect(cloud.SnapshotIDs("media-prd-db")).To(HaveLen(1))
		Expect(cloud.ListKeys("media-backups", "media/prd/1/data/")).To(HaveLen(250))
		Expect(jsonpath(ns, "media-backup", ".status.documentLibrary.objectsTotal")).To(Equal("250"), "OBJECTS counts what the backup holds")
		skipped, err := strconv.Atoi(jsonpath(ns, "media-backup", ".status.documentLibrary.objectsSkipped"))
		Expect(err).NotTo(HaveOccurred())
		Expect(skipped).To(BeNumerically(">=", before), "objects copied before the kill are not copied again")

		By("deleting the BackupRequest removes its snapshot and files")
		mustKubectl("delete", "br", "-n", ns, "media-backup", "--timeout=120s")
		Expect(cloud.SnapshotIDs("media-prd-db")).To(BeEmpty())
		Expect(cloud.ListKeys("media-backups", "media/prd/1/")).To(BeEmpty())
	})
})
