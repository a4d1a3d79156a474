//go:build e2e

package e2e

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// pluginRun is one run of the kubectl-lc2 binary.
type pluginRun struct {
	stdout, stderr string
	code           int
}

func (r pluginRun) String() string {
	return fmt.Sprintf("exit %d\n--- stdout\n%s--- stderr\n%s", r.code, r.stdout, r.stderr)
}

var _ = Describe("The kubectl lc2 plugin", Ordered, func() {
	const (
		ns      = "proj-shop-prd"
		live    = "shop-prd-dl"
		library = "document_library/"
		bucket  = "shop-backups"
	)
	var (
		pluginDir string
		pluginBin string
		userKC    string // kubeconfig of the plugin; the admin's unless a spec changes it
		docs      []string
		backup    string // the backup created with --wait
	)

	// lc2 runs the plugin as a user would: the kubeconfig, the AWS environment of the
	// emulator, the history database in DATABASE_URL.
	lc2 := func(args ...string) pluginRun {
		GinkgoHelper()
		cmd := exec.CommandContext(ctx, pluginBin, append([]string{"-n", ns}, args...)...)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+userKC,
			"AWS_ENDPOINT_URL="+moto.Endpoint, "AWS_ACCESS_KEY_ID=test", "AWS_SECRET_ACCESS_KEY=test", "AWS_REGION=us-east-1",
			"AWS_EC2_METADATA_DISABLED=true", "DATABASE_URL="+pg.URL)
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		r := pluginRun{stdout: stdout.String(), stderr: stderr.String()}
		var exit *exec.ExitError
		if errors.As(err, &exit) {
			r.code = exit.ExitCode()
		} else {
			Expect(err).NotTo(HaveOccurred())
		}
		return r
	}
	backupNames := func() []string {
		GinkgoHelper()
		return strings.Fields(mustKubectl("get", "br", "-n", ns, "-o", "jsonpath={.items[*].metadata.name}"))
	}

	BeforeAll(func() {
		By("building the plugin binary")
		root, err := harness.RepoRoot()
		Expect(err).NotTo(HaveOccurred())
		pluginDir = filepath.Join(workDir, "plugin")
		pluginBin = filepath.Join(pluginDir, "kubectl-lc2")
		build := exec.Command("go", "build", "-o", pluginBin, "./cmd/kubectl-lc2")
		build.Dir = root
		out, err := build.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		userKC = kubeconfig

		projectNamespace(ns, "shop")
		cloud.CreateDBInstance("shop-prd-db", fixtures.ProjectTag("shop"))
		docs = cloud.SeedDocumentLibrary(live, 12, fixtures.ProjectTag("shop"))
		cloud.CreateBucket(bucket, fixtures.ProjectTag("shop"))
		startManager(moto.Endpoint)
	})

	It("names the missing flag when nothing supplies the spec, and creates nothing", func() {
		r := lc2("backup", "create", "prd", "--db-instance", "shop-prd-db")
		Expect(r.code).To(Equal(1), r.String())
		Expect(r.stderr).To(ContainSubstring("missing --project"), r.String())
		Expect(backupNames()).To(BeEmpty())
	})

	It("prints the BackupRequest with --dry-run=client and sends nothing", func() {
		r := lc2("backup", "create", "prd", "--project", "shop", "--db-instance", "shop-prd-db",
			"--source-bucket", live, "--destination-bucket", bucket, "--dry-run=client")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stdout).To(ContainSubstring("kind: BackupRequest"))
		Expect(r.stdout).To(MatchRegexp(`name: prd-\d{14}`))
		Expect(r.stdout).To(MatchRegexp(`destinationPrefix: shop/prd/prd-\d{14}/`))
		Expect(r.stdout).To(ContainSubstring("instanceId: shop-prd-db"))
		Expect(backupNames()).To(BeEmpty())
	})

	It("has the API server validate with --dry-run=server: a bad value is refused naming the field, nothing is created", func() {
		r := lc2("backup", "create", "prd", "--project", "shop", "--db-instance", "shop-prd-db", "--retention-days", "3", "--dry-run=server")
		Expect(r.code).To(Equal(1), r.String())
		Expect(r.stderr).To(ContainSubstring("spec.retentionDays"), r.String())
		Expect(r.stderr).To(ContainSubstring("nothing created"), r.String())

		r = lc2("backup", "create", "prd", "--project", "shop", "--source-bucket", live, "--destination-bucket", bucket, "--dry-run=server")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stdout).To(ContainSubstring("sourcePrefix: document_library/"), "the server's defaults are shown")
		Expect(r.stdout).To(ContainSubstring("uid:"), "what the server returned")
		Expect(backupNames()).To(BeEmpty())
	})

	It("creates a backup and waits for it: phase lines, then the final counts of the status and the bucket", func() {
		r := lc2("backup", "create", "prd", "--project", "shop", "--db-instance", "shop-prd-db",
			"--source-bucket", live, "--destination-bucket", bucket, "--wait", "--timeout", "3m")
		Expect(r.code).To(Equal(0), r.String())
		m := regexp.MustCompile(`backuprequest.backup.liferay.cloud/(prd-\d{14}) created`).FindStringSubmatch(r.stdout)
		Expect(m).To(HaveLen(2), r.String())
		backup = m[1]
		Expect(r.stdout).To(MatchRegexp(`(?m)^backup `+backup+`: (Pending|InProgress)`), "a plain line per change, stdout is not a terminal")
		Expect(r.stdout).To(ContainSubstring("backup " + backup + " Succeeded: "))
		Expect(r.stdout).NotTo(ContainSubstring("\r"))

		prefix := "shop/prd/" + backup + "/"
		Expect(jsonpath(ns, backup, ".spec.documentLibrary.destinationPrefix")).To(Equal(prefix))
		stored := cloud.ListKeys(bucket, prefix+"data/")
		total := jsonpath(ns, backup, ".status.documentLibrary.objectsTotal")
		Expect(total).To(Equal(strconv.Itoa(len(stored))))
		Expect(len(stored)).To(BeNumerically(">=", len(docs)))
		Expect(r.stdout).To(ContainSubstring(fmt.Sprintf("document library: %s objects", total)), r.String())
		Expect(r.stdout).To(ContainSubstring("database snapshot: " + jsonpath(ns, backup, ".status.database.snapshotId")))
		Expect(r.stdout).To(ContainSubstring("manifest: s3://" + bucket + "/" + prefix + "manifest.json"))
	})

	It("takes the spec of the newest backup of the environment when no flag is given", func() {
		r := lc2("backup", "create", "prd", "--dry-run=client", "-o", "json")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stderr).To(ContainSubstring("spec from BackupRequest " + backup))
		Expect(r.stdout).To(ContainSubstring(`"instanceId": "shop-prd-db"`))
		Expect(r.stdout).To(MatchRegexp(`"destinationPrefix": "shop/prd/prd-\d{14}/"`))
	})

	It("lists the backups like kubectl get", func() {
		r := lc2("backup", "list")
		Expect(r.code).To(Equal(0), r.String())
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		Expect(strings.Fields(lines[0])).To(Equal([]string{"NAME", "ENV", "PHASE", "OBJECTS", "SIZE", "STARTED", "DURATION"}))
		Expect(lines).To(HaveLen(2), r.stdout)
		fields := strings.Fields(lines[1])
		Expect(fields[:4]).To(Equal([]string{backup, "prd", "Succeeded", jsonpath(ns, backup, ".status.documentLibrary.objectsTotal")}))

		r = lc2("backup", "list", "-A", "-o", "yaml")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stdout).To(ContainSubstring("kind: BackupRequest"))
		Expect(r.stdout).To(ContainSubstring("name: " + backup))

		r = lc2("backup", "list", "-o", "jsonpath={.items[*].metadata.name}")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stdout).To(Equal(backup))

		r = lc2("backup", "list", "-o", "custom-columns=NAME:.metadata.name,PHASE:.status.phase")
		Expect(r.code).To(Equal(0), r.String())
		Expect(strings.Split(strings.TrimSpace(r.stdout), "\n")).To(HaveExactElements(
			MatchRegexp(`^NAME\s+PHASE$`), MatchRegexp(`^`+backup+`\s+Succeeded$`)))
	})

	It("describes a backup: status, conditions, events, the verified manifest and the history row", func() {
		checksum := jsonpath(ns, backup, ".status.manifest.checksum")
		Eventually(func(g Gomega) {
			r := lc2("backup", "describe", backup)
			g.Expect(r.code).To(Equal(0), r.String())
			g.Expect(r.stdout).To(ContainSubstring("Phase:"))
			g.Expect(r.stdout).To(ContainSubstring("ManifestWritten"))
			g.Expect(r.stdout).To(MatchRegexp(`(?s)Events:.*Started.*Backup started`))
			g.Expect(r.stdout).To(ContainSubstring("Checksum:"))
			g.Expect(r.stdout).To(ContainSubstring(checksum + " verifies, and matches status.manifest.checksum"))
			g.Expect(r.stdout).To(MatchRegexp(`(?s)History \(backup_requests\):\s+Phase:\s+Succeeded`), r.String())
		}).WithTimeout(2 * time.Minute).Should(Succeed())

		By("without the history database and AWS, one line says why each was not consulted")
		cmd := exec.CommandContext(ctx, pluginBin, "-n", ns, "backup", "describe", backup)
		cmd.Env = []string{"KUBECONFIG=" + userKC, "HOME=" + workDir, "PATH=" + os.Getenv("PATH")}
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring("not read: no AWS configuration"))
		Expect(string(out)).To(ContainSubstring("not consulted: set --history-dsn or DATABASE_URL"))
	})

	It("verifies a backup and exits 0", func() {
		r := lc2("backup", "verify", backup, "--timeout", "3m")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stdout).To(ContainSubstring("verification " + backup + "-verify-"))
		Expect(r.stdout).To(ContainSubstring("Succeeded"))
		Expect(r.stdout).To(ContainSubstring(fmt.Sprintf("verification: %s objects checked, 0 missing, 0 different", jsonpath(ns, backup, ".status.documentLibrary.objectsTotal"))))
	})

	It("restores deleted files with restore create --skip-existing --wait", func() {
		deleted := library + docs[2]
		original := cloud.GetObject(live, deleted)
		_, err := cloud.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(live), Key: aws.String(deleted)})
		Expect(err).NotTo(HaveOccurred())

		r := lc2("restore", "create", "--from", backup, "--target-bucket", live, "--target-prefix", library, "--skip-existing", "--wait", "--timeout", "3m")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stdout).To(MatchRegexp(`restore ` + backup + `-restore-\d{14} Succeeded`))
		Expect(r.stdout).To(ContainSubstring("document library: 1 of "))
		Expect(cloud.GetObject(live, deleted)).To(Equal(original))

		name := regexp.MustCompile(backup + `-restore-\d{14}`).FindString(r.stdout)
		Eventually(func(g Gomega) {
			d := lc2("restore", "describe", name)
			g.Expect(d.code).To(Equal(0), d.String())
			g.Expect(d.stdout).To(ContainSubstring("existing objects: Skip"))
			g.Expect(d.stdout).To(MatchRegexp(`(?s)History \(restore_requests\):\s+Phase:\s+Succeeded`), d.String())
		}).WithTimeout(2 * time.Minute).Should(Succeed())

		By("--overwrite must repeat the target exactly")
		r = lc2("restore", "create", "--from", backup, "--target-bucket", live, "--target-prefix", library, "--overwrite", live+"/other/", "--dry-run=client")
		Expect(r.code).To(Equal(1), r.String())
		Expect(r.stderr).To(ContainSubstring("--overwrite=" + live + "/" + library))
		r = lc2("restore", "create", "--from", backup, "--target-bucket", live, "--target-prefix", library, "--overwrite", live+"/"+library, "--dry-run=client")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stdout).To(ContainSubstring("backup.liferay.cloud/confirm-overwrite: " + live + "/" + library))
		Expect(r.stdout).To(ContainSubstring("existingObjects: Overwrite"))
	})

	It("exits non-zero when the verification finds a backup's object gone", func() {
		stored := cloud.ListKeys(bucket, "shop/prd/"+backup+"/data/")
		gone := "shop/prd/" + backup + "/data/" + stored[0]
		_, err := cloud.S3.DeleteObject(ctx, &s3.DeleteObjectInput{Bucket: aws.String(bucket), Key: aws.String(gone)})
		Expect(err).NotTo(HaveOccurred())

		r := lc2("backup", "verify", backup, "--timeout", "3m")
		Expect(r.code).To(Equal(1), r.String())
		Expect(r.stdout).To(ContainSubstring("Failed"))
		Expect(r.stdout).To(ContainSubstring("1 missing"))
		Expect(r.stdout).To(ContainSubstring("missing: s3://" + bucket + "/" + gone))
		Expect(r.stdout).To(ContainSubstring("condition Verified=False (BackupIncomplete)"))
	})

	It("exits non-zero with the message of a backup that fails", func() {
		r := lc2("backup", "create", "dev", "--project", "shop", "--db-instance", "shop-ghost-db", "--wait", "--timeout", "3m")
		Expect(r.code).To(Equal(1), r.String())
		Expect(r.stdout).To(MatchRegexp(`backup dev-\d{14} Failed: .*shop-ghost-db`))
		Expect(r.stdout).To(MatchRegexp(`condition \w+=False \(\w+\): `))
		Expect(r.stderr).To(ContainSubstring("shop-ghost-db"))

		By("a restore or a verification of a backup that is missing or not Succeeded is refused before anything is created")
		failed := regexp.MustCompile(`dev-\d{14}`).FindString(r.stdout)
		restoresBefore := mustKubectl("get", "rr", "-n", ns, "-o", "name")
		r = lc2("restore", "create", "--from", failed, "--target-bucket", live, "--target-prefix", "elsewhere/")
		Expect(r.code).To(Equal(1), r.String())
		Expect(r.stderr).To(ContainSubstring("BackupRequest " + failed + " is Failed, not Succeeded"))
		r = lc2("backup", "verify", "no-such-backup")
		Expect(r.code).To(Equal(1), r.String())
		Expect(r.stderr).To(ContainSubstring("there is no BackupRequest no-such-backup in namespace " + ns))
		Expect(mustKubectl("get", "rr", "-n", ns, "-o", "name")).To(Equal(restoresBefore))
	})

	It("suspends, resumes, lists, describes and runs a schedule now", func() {
		s := backups.NewSchedule(ns, "nightly", "shop", "0 2 * * *", "shop-prd-db", live, bucket)
		out, err := kubectlApply(backups.ScheduleYAML(s))
		Expect(err).NotTo(HaveOccurred(), out)

		r := lc2("schedule", "suspend", "nightly")
		Expect(r.code).To(Equal(0), r.String())
		Expect(mustKubectl("get", "bsched", "-n", ns, "nightly", "-o", "jsonpath={.spec.suspend}")).To(Equal("true"))
		r = lc2("schedule", "resume", "nightly")
		Expect(r.code).To(Equal(0), r.String())
		Expect(mustKubectl("get", "bsched", "-n", ns, "nightly", "-o", "jsonpath={.spec.suspend}")).To(Equal("false"))

		Eventually(func(g Gomega) {
			r := lc2("schedule", "list")
			g.Expect(r.code).To(Equal(0), r.String())
			g.Expect(r.stdout).To(MatchRegexp(`(?m)^nightly\s+0 2 \* \* \*\s+UTC\s+false\s+<none>\s+in `), r.stdout)
		}).WithTimeout(time.Minute).Should(Succeed())

		r = lc2("schedule", "run-now", "nightly")
		Expect(r.code).To(Equal(0), r.String())
		name := regexp.MustCompile(`prd-\d{14}`).FindString(r.stdout)
		Expect(name).NotTo(BeEmpty(), r.String())
		Expect(jsonpath(ns, name, `.metadata.annotations.backup\.liferay\.cloud/run-of-schedule`)).To(Equal("nightly"))
		Expect(jsonpath(ns, name, ".metadata.ownerReferences")).To(BeEmpty())
		Expect(jsonpath(ns, name, ".metadata.labels")).To(BeEmpty())
		Expect(jsonpath(ns, name, ".spec.documentLibrary.destinationPrefix")).To(Equal("shop/prd/nightly/manual-" + strings.TrimPrefix(name, "prd-") + "/"))

		r = lc2("schedule", "describe", "nightly")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stdout).To(ContainSubstring("Backs up:"))
		Expect(r.stdout).To(ContainSubstring("Backups (label backup.liferay.cloud/schedule=nightly, newest first):\n  <none>"), "a run by hand is not the schedule's")
	})

	It("is found by kubectl as a plugin", func() {
		// kubectl refuses flags before a plugin's name: the kubeconfig comes from KUBECONFIG.
		cmd := exec.CommandContext(ctx, kubectlBin, "lc2", "backup", "list", "-n", ns)
		cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig, "PATH="+pluginDir+string(os.PathListSeparator)+os.Getenv("PATH"))
		out, err := cmd.CombinedOutput()
		Expect(err).NotTo(HaveOccurred(), string(out))
		Expect(string(out)).To(ContainSubstring(backup))
	})

	It("needs no more RBAC than docs/plugin.md lists, and says what is missing", func() {
		user, err := testEnv.AddUser(envtest.User{Name: "shop-operator"}, nil)
		Expect(err).NotTo(HaveOccurred())
		kc, err := user.KubeConfig()
		Expect(err).NotTo(HaveOccurred())
		userKC = filepath.Join(workDir, "shop-operator.kubeconfig")
		Expect(os.WriteFile(userKC, kc, 0o600)).To(Succeed())
		DeferCleanup(func() { userKC = kubeconfig })

		By("a Role with exactly the rows of backup list, backup create and backup verify")
		out, err := kubectlApply(fmt.Sprintf(`apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: lc2-backup-create, namespace: %[1]s}
rules:
- apiGroups: [backup.liferay.cloud]
  resources: [backuprequests]
  verbs: [create, get, list]
- apiGroups: [backup.liferay.cloud]
  resources: [backupschedules]
  verbs: [get, list]
- apiGroups: [backup.liferay.cloud]
  resources: [restorerequests]
  verbs: [create, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: lc2-backup-create, namespace: %[1]s}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: lc2-backup-create}
subjects:
- {apiGroup: rbac.authorization.k8s.io, kind: User, name: shop-operator}
`, ns))
		Expect(err).NotTo(HaveOccurred(), out)
		Eventually(func(g Gomega) {
			r := lc2("backup", "list")
			g.Expect(r.code).To(Equal(0), r.String())
			g.Expect(r.stdout).To(ContainSubstring(backup))
		}).WithTimeout(30 * time.Second).Should(Succeed())
		before := backupNames()
		r := lc2("backup", "create", "prd", "--dry-run=server")
		Expect(r.code).To(Equal(0), r.String())
		Expect(r.stdout).To(ContainSubstring("run-of-schedule: nightly"))
		Expect(backupNames()).To(Equal(before))

		By("backup verify waits with watch alone (the backup is the tampered one: it fails on its merits)")
		r = lc2("backup", "verify", backup, "--timeout", "3m")
		Expect(r.code).To(Equal(1), r.String())
		Expect(r.stdout).To(ContainSubstring("condition Verified=False (BackupIncomplete)"), r.String())
		Expect(r.stderr).NotTo(ContainSubstring("forbidden"))

		By("a command the Role does not cover fails naming what it needs")
		r = lc2("schedule", "suspend", "nightly")
		Expect(r.code).To(Equal(1), r.String())
		Expect(r.stderr).To(ContainSubstring("forbidden"))
		Expect(r.stderr).To(ContainSubstring(`"kubectl lc2 schedule suspend" needs backupschedules patch`))
	})
})
