package integration

import (
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/setup"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/fixtures/backups"
)

// A dump of the snapshot that logs in with an RDS IAM token, through the real
// controller and its Job runner (envtest runs no kubelet, so the Job never runs: its
// spec is what is checked). The throw-away instance is the emulator's.
var _ = Describe("An IAM dump's Job", Ordered, func() {
	const (
		project  = "papa"
		ns       = "proj-papa-prd"
		library  = "papa-dl"
		store    = "papa-backups"
		instance = "papa-prd-db"
		// leftover is a password still in the Secret: an IAM dump must not pass it on.
		leftover = "papa-Leftover-pass#7"
	)

	BeforeAll(func() {
		projectNamespace(ns, project)
		cloud.CreateBucket(library, fixtures.ProjectTag(project))
		cloud.CreateBucket(store, fixtures.ProjectTag(project))
		cloud.PutObject(library, "document_library/20097/1.0", []byte("live file"))
		cloud.CreateDBInstance(instance, fixtures.ProjectTag(project))
		createSecret(ns, "papa-db", map[string]string{"host": "papa-prd-db.invalid", "database": "lportal", "user": "lportal_iam",
			"password": leftover, "engine": "postgres"})
		opts := controllerOptions()
		opts.DumpPollInterval = 2 * time.Second
		ctrlr := startController(moto.Endpoint, opts, func(c *setup.Config) {
			c.Dumper = setup.DumperConfig{Runner: setup.DumpRunnerJob, Image: "registry.example/lc2-dumper:1.2.3", ServiceAccount: "lc2-dumper"}
		})
		DeferCleanup(func() { ctrlr.Stop() })
	})

	It("takes no password, carries the IAM switch and the region, runs as the dumper's account, and reads an instance that takes tokens", func() {
		br := newBackupRequest(ns, "papa-1", project, backups.DocumentLibrary(library, store, "papa/prd/papa-1/"),
			backups.DumpOfSnapshot(instance, "papa-db", true))
		br.Spec.Database.Dump.Authentication = backupv1alpha1.DatabaseAuthIAM
		Expect(k8sClient.Create(suiteCtx, br)).To(Succeed())

		job := &batchv1.Job{}
		Eventually(func() error {
			return k8sClient.Get(suiteCtx, client.ObjectKey{Namespace: ns, Name: "lc2-dump-" + string(br.UID)}, job)
		}).WithTimeout(2 * time.Minute).Should(Succeed())
		pod := job.Spec.Template.Spec
		Expect(pod.ServiceAccountName).To(Equal("lc2-dumper"), "the token is signed with the dumper's own identity")
		Expect(pod.Containers).To(HaveLen(1))
		c := pod.Containers[0]
		Expect(c.Args).To(Equal([]string{"backup"}))
		env := map[string]corev1.EnvVar{}
		for _, e := range c.Env {
			env[e.Name] = e
			if e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil {
				Expect(e.ValueFrom.SecretKeyRef.Key).NotTo(Equal(dump.SecretKeyPassword), "%s takes the Secret's password", e.Name)
			}
		}
		Expect(env).NotTo(HaveKey(dump.EnvPassword))
		Expect(env).To(HaveKeyWithValue(dump.EnvAuth, HaveField("Value", dump.AuthIAM)))
		Expect(env).To(HaveKeyWithValue(dump.EnvIAMRegion, HaveField("Value", "us-east-1")))
		Expect(env).To(HaveKeyWithValue(dump.EnvUser, HaveField("ValueFrom.SecretKeyRef.Name", "papa-db")))
		got := getBR(ns, "papa-1")
		Expect(got.Status.Database.DumpInstance).NotTo(BeNil())
		Expect(env).To(HaveKeyWithValue(dump.EnvHost, HaveField("Value", Not(BeEmpty()))), "the throw-away instance's endpoint, not the Secret's host")
		stored, err := yamlOf(job)
		Expect(err).NotTo(HaveOccurred())
		Expect(stored).NotTo(ContainSubstring(leftover), "no secret value anywhere in the Job")

		out, err := cloud.RDS.DescribeDBInstances(suiteCtx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(got.Status.Database.DumpInstance.InstanceID)})
		Expect(err).NotTo(HaveOccurred())
		Expect(out.DBInstances).To(HaveLen(1))
		Expect(aws.ToBool(out.DBInstances[0].IAMDatabaseAuthenticationEnabled)).To(BeTrue(), "restored with IAM authentication enabled")

		Expect(k8sClient.Delete(suiteCtx, got)).To(Succeed())
		Eventually(func() bool {
			return apierrors.IsNotFound(k8sClient.Get(suiteCtx, client.ObjectKeyFromObject(got), &backupv1alpha1.BackupRequest{}))
		}).WithTimeout(2 * time.Minute).Should(BeTrue())
		Expect(cloud.DBInstanceExists(got.Status.Database.DumpInstance.InstanceID)).To(BeFalse(), "the throw-away instance is gone with the backup")
	})
})
