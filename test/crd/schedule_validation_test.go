package crd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// validScheduleSpec is the sample's schedule; each invalid case breaks one rule of it.
func validScheduleSpec() backupv1alpha1.BackupScheduleSpec {
	return backupv1alpha1.BackupScheduleSpec{
		Schedule: "0 2 * * *",
		TimeZone: "Europe/Berlin",
		Template: backupv1alpha1.BackupTemplateSpec{
			ProjectID: "retail", Environment: "prd",
			Database: &backupv1alpha1.DatabaseBackupSpec{InstanceID: "retail-prd-db"},
			DocumentLibrary: &backupv1alpha1.DocumentLibraryTemplateSpec{
				SourceBucket: "liferay-retail-prd-dl", DestinationBucket: "liferay-backups", ExcludeGeneratedFiles: true,
			},
		},
		Retention: &backupv1alpha1.ScheduleRetention{KeepDaily: ptr.To[int32](7)},
	}
}

var _ = Describe("BackupSchedule CRD", func() {
	const namespace = "proj-retail-prd"
	var nameCounter int

	BeforeEach(func() {
		err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	})

	newSchedule := func(spec backupv1alpha1.BackupScheduleSpec) *backupv1alpha1.BackupSchedule {
		nameCounter++
		return &backupv1alpha1.BackupSchedule{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("schedule-validation-%d", nameCounter), Namespace: namespace},
			Spec:       spec,
		}
	}

	It("accepts the BackupSchedule sample in config/samples", func() {
		data, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "backup_v1alpha1_backupschedule.yaml"))
		Expect(err).NotTo(HaveOccurred())
		s := &backupv1alpha1.BackupSchedule{}
		Expect(yaml.Unmarshal(data, s)).To(Succeed())
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
	})

	It("applies the documented defaults, and lets the template change (unlike a BackupRequest spec)", func() {
		spec := validScheduleSpec()
		spec.TimeZone = ""
		s := newSchedule(spec)
		Expect(k8sClient.Create(ctx, s)).To(Succeed())
		Expect(s.Spec.TimeZone).To(Equal("UTC"))
		Expect(s.Spec.ConcurrencyPolicy).To(Equal(backupv1alpha1.ConcurrencyForbid))
		Expect(s.Spec.Template.Provider).To(Equal(backupv1alpha1.ProviderAWS))
		Expect(s.Spec.Template.DocumentLibrary.SourcePrefix).To(BeEquivalentTo("document_library/"))
		s.Spec.Template.Database.InstanceID = "retail-prd-db2"
		Expect(k8sClient.Update(ctx, s)).To(Succeed())
	})

	It("refuses a name longer than 63 characters (it is a label value of the backups)", func() {
		s := newSchedule(validScheduleSpec())
		s.Name = strings.Repeat("a", 64)
		err := k8sClient.Create(ctx, s)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("at most 63 characters"))
	})

	DescribeTable("refuses an invalid schedule, naming the field",
		func(mutate func(*backupv1alpha1.BackupScheduleSpec), field, message string) {
			spec := validScheduleSpec()
			mutate(&spec)
			err := k8sClient.Create(ctx, newSchedule(spec))
			Expect(err).To(HaveOccurred())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("empty schedule", func(s *backupv1alpha1.BackupScheduleSpec) { s.Schedule = "" }, "spec.schedule", "at least 1"),
		Entry("time zone in the schedule", func(s *backupv1alpha1.BackupScheduleSpec) { s.Schedule = "CRON_TZ=UTC 0 2 * * *" },
			"spec.schedule", "spec.timeZone"),
		Entry("unknown concurrency policy", func(s *backupv1alpha1.BackupScheduleSpec) { s.ConcurrencyPolicy = "Replace" },
			"spec.concurrencyPolicy", "Unsupported value"),
		Entry("startingDeadlineSeconds of 0", func(s *backupv1alpha1.BackupScheduleSpec) { s.StartingDeadlineSeconds = ptr.To[int64](0) },
			"spec.startingDeadlineSeconds", "greater than or equal to 1"),
		Entry("template without database and documentLibrary", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.Database, s.Template.DocumentLibrary = nil, nil
		}, "spec.template", "at least one of template.database and template.documentLibrary"),
		Entry("template instanceId with a double hyphen", func(s *backupv1alpha1.BackupScheduleSpec) { s.Template.Database.InstanceID = "retail--db" },
			"spec.template.database.instanceId", "must not contain '--'"),
		Entry("template projectId not a DNS label", func(s *backupv1alpha1.BackupScheduleSpec) { s.Template.ProjectID = "Retail" },
			"spec.template.projectId", "should match"),
		Entry("template destination bucket shaped like an IP address", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.DocumentLibrary.DestinationBucket = "10.0.0.1"
		}, "spec.template.documentLibrary.destinationBucket", "IP address"),
		Entry("template destinationPrefix outside the project's folder", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.DocumentLibrary.DestinationPrefix = "bravo/prd/"
		}, "spec.template.documentLibrary.destinationPrefix", `must begin with "<projectId>/"`),
		Entry("template destinationPrefix without a trailing '/'", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.DocumentLibrary.DestinationPrefix = "retail/prd"
		}, "spec.template.documentLibrary.destinationPrefix", "must end with '/'"),
		Entry("template destinationPrefix inside the sourcePrefix of the same bucket", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.DocumentLibrary.SourceBucket, s.Template.DocumentLibrary.SourcePrefix = "liferay-backups", "retail/"
			s.Template.DocumentLibrary.DestinationPrefix = "retail/backups/"
		}, "spec.template.documentLibrary.destinationPrefix", "must not lie inside sourcePrefix in the same bucket"),
		Entry("template default destination inside the sourcePrefix of the same bucket", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.DocumentLibrary.SourceBucket, s.Template.DocumentLibrary.SourcePrefix = "liferay-backups", "retail/"
		}, "spec.template.documentLibrary.destinationPrefix", "must not lie inside sourcePrefix in the same bucket"),
		Entry("template snapshot backup on gcp", func(s *backupv1alpha1.BackupScheduleSpec) { s.Template.Provider = backupv1alpha1.ProviderGCP },
			"spec.template.database", "only provider aws has"),
		Entry("template IAM authentication without instanceId", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, Dump: &backupv1alpha1.DatabaseDumpSpec{
				Authentication: backupv1alpha1.DatabaseAuthIAM, ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
		}, "spec.template.database.dump.authentication", "dump.authentication IAM needs instanceId"),
		Entry("template IAM authentication on azure", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.Provider = backupv1alpha1.ProviderAzure
			s.Template.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, InstanceID: "retail-prd-db",
				Dump: &backupv1alpha1.DatabaseDumpSpec{Authentication: backupv1alpha1.DatabaseAuthIAM,
					ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
		}, "spec.template.database.dump.authentication", "IAM mints an RDS IAM token, which only provider aws has"),
		Entry("template Azure container name with a dot", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.Provider, s.Template.Database = backupv1alpha1.ProviderAzure, nil
			s.Template.DocumentLibrary.DestinationBucket = "liferay.backups"
		}, "spec.template.documentLibrary.destinationBucket", "Azure container"),
		Entry("retention keeping nothing", func(s *backupv1alpha1.BackupScheduleSpec) { s.Retention = &backupv1alpha1.ScheduleRetention{} },
			"spec.retention", "set at least one keep* field"),
		Entry("retention and template.retentionDays together", func(s *backupv1alpha1.BackupScheduleSpec) {
			s.Template.RetentionDays = ptr.To[int32](30)
		}, "spec", "template.retentionDays and retention are exclusive"),
		Entry("keepDaily of 0", func(s *backupv1alpha1.BackupScheduleSpec) { s.Retention.KeepDaily = ptr.To[int32](0) },
			"spec.retention.keepDaily", "greater than or equal to 1"),
	)
})
