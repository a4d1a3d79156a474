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

// validSpec is the design note's example; each invalid case breaks one rule of it.
func validSpec() backupv1alpha1.BackupRequestSpec {
	return backupv1alpha1.BackupRequestSpec{
		ProjectID:   "retail",
		Environment: "prd",
		Provider:    backupv1alpha1.ProviderAWS,
		Database: &backupv1alpha1.DatabaseBackupSpec{
			Type:       backupv1alpha1.DatabaseBackupSnapshot,
			InstanceID: "retail-prd-db",
		},
		DocumentLibrary: &backupv1alpha1.DocumentLibraryBackupSpec{
			SourceBucket:          "liferay-retail-prd-dl",
			DestinationBucket:     "liferay-backups",
			DestinationPrefix:     "retail/prd/20251109/",
			ExcludeGeneratedFiles: true,
		},
		RetentionDays: ptr.To[int32](30),
	}
}

var _ = Describe("BackupRequest CRD", func() {
	const namespace = "proj-retail-prd"
	var nameCounter int

	BeforeEach(func() {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}
		err := k8sClient.Create(ctx, ns)
		if err != nil && !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	})

	newRequest := func(spec backupv1alpha1.BackupRequestSpec) *backupv1alpha1.BackupRequest {
		nameCounter++
		return &backupv1alpha1.BackupRequest{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("validation-%d", nameCounter), Namespace: namespace},
			Spec:       spec,
		}
	}

	It("accepts every BackupRequest sample in config/samples", func() {
		files, err := filepath.Glob(filepath.Join("..", "..", "config", "samples", "backup_*_backuprequest*.yaml"))
		Expect(err).NotTo(HaveOccurred())
		Expect(files).To(HaveLen(3))
		for _, f := range files {
			data, err := os.ReadFile(f)
			Expect(err).NotTo(HaveOccurred())
			br := &backupv1alpha1.BackupRequest{}
			Expect(yaml.Unmarshal(data, br)).To(Succeed(), f)
			Expect(k8sClient.Create(ctx, br)).To(Succeed(), f)
		}
	})

	It("applies the documented defaults", func() {
		spec := validSpec()
		spec.Provider = ""
		spec.Database.Type = ""
		br := newRequest(spec)
		Expect(k8sClient.Create(ctx, br)).To(Succeed())
		Expect(br.Spec.Provider).To(Equal(backupv1alpha1.ProviderAWS))
		Expect(br.Spec.Database.Type).To(Equal(backupv1alpha1.DatabaseBackupSnapshot))
		Expect(br.Spec.DocumentLibrary.SourcePrefix).To(BeEquivalentTo("document_library/"))
	})

	It("accepts a dump of a database named only by a connection Secret, and defaults keepSnapshot", func() {
		spec := validSpec()
		spec.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump,
			Dump: &backupv1alpha1.DatabaseDumpSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
		br := newRequest(spec)
		Expect(k8sClient.Create(ctx, br)).To(Succeed())
		Expect(br.Spec.Database.Dump.KeepSnapshot).To(Equal(ptr.To(true)))
		Expect(br.Spec.Database.DumpSourceOrDefault()).To(Equal(backupv1alpha1.DumpSourceInstance))
		Expect(br.Spec.Database.TakesSnapshot()).To(BeFalse())
	})

	DescribeTable("refuses an invalid object, naming the field",
		func(mutate func(*backupv1alpha1.BackupRequestSpec), field, message string) {
			spec := validSpec()
			mutate(&spec)
			err := k8sClient.Create(ctx, newRequest(spec))
			Expect(err).To(HaveOccurred())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(field))
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("projectId not a DNS label", func(s *backupv1alpha1.BackupRequestSpec) { s.ProjectID = "Retail_Project" },
			"spec.projectId", "should match"),
		Entry("projectId too long", func(s *backupv1alpha1.BackupRequestSpec) { s.ProjectID = strings.Repeat("a", 64) },
			"spec.projectId", "Too long"),
		Entry("environment not a DNS label", func(s *backupv1alpha1.BackupRequestSpec) { s.Environment = "-prd" },
			"spec.environment", "should match"),
		Entry("provider unknown", func(s *backupv1alpha1.BackupRequestSpec) { s.Provider = "digitalocean" },
			"spec.provider", "Unsupported value"),
		Entry("database type unknown", func(s *backupv1alpha1.BackupRequestSpec) { s.Database.Type = "pitr" },
			"spec.database.type", "Unsupported value"),
		Entry("no instanceId for a snapshot", func(s *backupv1alpha1.BackupRequestSpec) { s.Database.InstanceID = "" },
			"spec.database.instanceId", "instanceId is required, unless type is dump and dump.connectionSecretRef names the database"),
		Entry("a dump without instanceId or connectionSecretRef", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, Dump: &backupv1alpha1.DatabaseDumpSpec{}}
		}, "spec.database.instanceId", "instanceId is required, unless type is dump"),
		Entry("dump settings on a snapshot backup", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database.Dump = &backupv1alpha1.DatabaseDumpSpec{Source: backupv1alpha1.DumpSourceInstance}
		}, "spec.database.dump", "dump is only allowed with type: dump"),
		Entry("a Snapshot-source dump of a database named only by a Secret", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, Dump: &backupv1alpha1.DatabaseDumpSpec{
				Source: backupv1alpha1.DumpSourceSnapshot, ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
		}, "spec.database.dump.source", "source Snapshot needs instanceId"),
		Entry("a dump source unknown", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, InstanceID: "retail-prd-db",
				Dump: &backupv1alpha1.DatabaseDumpSpec{Source: "Replica"}}
		}, "spec.database.dump.source", "Unsupported value"),
		Entry("a connection Secret without a name", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, InstanceID: "retail-prd-db",
				Dump: &backupv1alpha1.DatabaseDumpSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{}}}
		}, "spec.database.dump.connectionSecretRef.name", "at least 1"),
		Entry("IAM authentication for a database named only by a Secret", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, Dump: &backupv1alpha1.DatabaseDumpSpec{
				Authentication: backupv1alpha1.DatabaseAuthIAM, ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
		}, "spec.database.dump.authentication", "dump.authentication IAM needs instanceId"),
		Entry("IAM authentication on gcp", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Provider = backupv1alpha1.ProviderGCP
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, InstanceID: "retail-prd-db",
				Dump: &backupv1alpha1.DatabaseDumpSpec{Authentication: backupv1alpha1.DatabaseAuthIAM,
					ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
		}, "spec.database.dump.authentication", "IAM mints an RDS IAM token, which only provider aws has"),
		Entry("an authentication unknown", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, InstanceID: "retail-prd-db",
				Dump: &backupv1alpha1.DatabaseDumpSpec{Authentication: "Kerberos"}}
		}, "spec.database.dump.authentication", "Unsupported value"),
		Entry("instanceId starts with a digit", func(s *backupv1alpha1.BackupRequestSpec) { s.Database.InstanceID = "1retail" },
			"spec.database.instanceId", "should match"),
		Entry("instanceId with a double hyphen", func(s *backupv1alpha1.BackupRequestSpec) { s.Database.InstanceID = "retail--db" },
			"spec.database.instanceId", "must not contain '--'"),
		Entry("instanceId with a trailing hyphen", func(s *backupv1alpha1.BackupRequestSpec) { s.Database.InstanceID = "retail-db-" },
			"spec.database.instanceId", "must not end with a hyphen"),
		Entry("instanceId too long", func(s *backupv1alpha1.BackupRequestSpec) { s.Database.InstanceID = "a" + strings.Repeat("b", 63) },
			"spec.database.instanceId", "Too long"),
		Entry("source bucket with upper case", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.SourceBucket = "Liferay-DL" },
			"spec.documentLibrary.sourceBucket", "should match"),
		Entry("destination bucket with '..'", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.DestinationBucket = "liferay..backups" },
			"spec.documentLibrary.destinationBucket", "must not contain '..'"),
		Entry("destination bucket shaped like an IP address", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.DestinationBucket = "192.168.10.1"
		}, "spec.documentLibrary.destinationBucket", "IP address"),
		Entry("destination bucket too short", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.DestinationBucket = "ab" },
			"spec.documentLibrary.destinationBucket", "at least 3"),
		Entry("destinationPrefix with a leading '/'", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.DestinationPrefix = "/retail/prd/"
		}, "spec.documentLibrary.destinationPrefix", "must not start with '/'"),
		Entry("destinationPrefix with a '..' segment", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.DestinationPrefix = "retail/../other-project/"
		}, "spec.documentLibrary.destinationPrefix", "'..' segment"),
		Entry("sourcePrefix with a leading '/'", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.SourcePrefix = "/document_library/" },
			"spec.documentLibrary.sourcePrefix", "must not start with '/'"),
		Entry("sourcePrefix without a trailing '/'", func(s *backupv1alpha1.BackupRequestSpec) { s.DocumentLibrary.SourcePrefix = "document_library" },
			"spec.documentLibrary.sourcePrefix", "sourcePrefix must end with '/'"),
		Entry("destinationPrefix without a trailing '/'", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.DestinationPrefix = "retail/prd/20251109"
		}, "spec.documentLibrary.destinationPrefix", "destinationPrefix must end with '/'"),
		Entry("destinationPrefix outside the project's folder", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.DestinationPrefix = "bravo/prd/20251109/"
		}, "spec.documentLibrary.destinationPrefix", `must begin with "<projectId>/"`),
		Entry("destinationPrefix that only starts with the project's name", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.DestinationPrefix = "retail-old/prd/"
		}, "spec.documentLibrary.destinationPrefix", `must begin with "<projectId>/"`),
		Entry("destinationPrefix inside the sourcePrefix of the same bucket", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.SourceBucket, s.DocumentLibrary.SourcePrefix = "liferay-backups", "retail/dl/"
			s.DocumentLibrary.DestinationPrefix = "retail/dl/backup/"
		}, "spec.documentLibrary.destinationPrefix", "must not overlap sourcePrefix in the same bucket"),
		Entry("sourcePrefix inside the destinationPrefix of the same bucket", func(s *backupv1alpha1.BackupRequestSpec) {
			s.DocumentLibrary.SourceBucket, s.DocumentLibrary.SourcePrefix = "liferay-backups", "retail/prd/20251109/dl/"
		}, "spec.documentLibrary.destinationPrefix", "must not overlap sourcePrefix in the same bucket"),
		Entry("the project's whole folder as the source", func(s *backupv1alpha1.BackupRequestSpec) {
			// An empty sourcePrefix would be defaulted: the client omits it.
			s.DocumentLibrary.SourceBucket, s.DocumentLibrary.SourcePrefix = "liferay-backups", "retail/"
		}, "spec.documentLibrary.destinationPrefix", "must not overlap sourcePrefix in the same bucket"),
		Entry("neither database nor documentLibrary", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Database, s.DocumentLibrary = nil, nil
		}, "spec", "at least one of spec.database and spec.documentLibrary must be set"),
		Entry("an RDS instance on gcp", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Provider = backupv1alpha1.ProviderGCP
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, InstanceID: "retail-prd-db",
				Dump: &backupv1alpha1.DatabaseDumpSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
		}, "spec.database.instanceId", "only provider aws has"),
		Entry("a snapshot backup on azure", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Provider = backupv1alpha1.ProviderAzure
			s.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupSnapshot}
		}, "spec.database.type", "set spec.database.type: dump"),
		Entry("a snapshot backup on local", func(s *backupv1alpha1.BackupRequestSpec) { s.Provider = backupv1alpha1.ProviderLocal },
			"spec.database.instanceId", "only provider aws has"),
		Entry("an Azure container name with a dot", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Provider, s.Database = backupv1alpha1.ProviderAzure, nil
			s.DocumentLibrary.SourceBucket = "liferay.retail-dl"
		}, "spec.documentLibrary.sourceBucket", "Azure container"),
		Entry("an Azure destination container with a double hyphen", func(s *backupv1alpha1.BackupRequestSpec) {
			s.Provider, s.Database = backupv1alpha1.ProviderAzure, nil
			s.DocumentLibrary.DestinationBucket = "liferay--backups"
		}, "spec.documentLibrary.destinationBucket", "Azure container"),
		Entry("retentionDays below 7", func(s *backupv1alpha1.BackupRequestSpec) { s.RetentionDays = ptr.To[int32](6) },
			"spec.retentionDays", "greater than or equal to 7"),
		Entry("retentionDays above 365", func(s *backupv1alpha1.BackupRequestSpec) { s.RetentionDays = ptr.To[int32](366) },
			"spec.retentionDays", "less than or equal to 365"),
	)

	It("accepts a dump backup with Cloud Storage, Blob Storage and a local store", func() {
		for _, p := range []backupv1alpha1.CloudProvider{backupv1alpha1.ProviderGCP, backupv1alpha1.ProviderAzure, backupv1alpha1.ProviderLocal} {
			spec := validSpec()
			spec.Provider = p
			spec.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump,
				Dump: &backupv1alpha1.DatabaseDumpSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
			Expect(k8sClient.Create(ctx, newRequest(spec))).To(Succeed(), string(p))
		}
	})

	It("accepts IAM authentication for a dump of an RDS instance on aws, from its snapshot or directly", func() {
		for _, source := range []backupv1alpha1.DumpSource{backupv1alpha1.DumpSourceSnapshot, backupv1alpha1.DumpSourceInstance} {
			spec := validSpec()
			spec.Database = &backupv1alpha1.DatabaseBackupSpec{Type: backupv1alpha1.DatabaseBackupDump, InstanceID: "retail-prd-db",
				Dump: &backupv1alpha1.DatabaseDumpSpec{Source: source, Authentication: backupv1alpha1.DatabaseAuthIAM,
					ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}}
			Expect(k8sClient.Create(ctx, newRequest(spec))).To(Succeed(), string(source))
		}
	})

	It("accepts a source and a destination side by side in one bucket", func() {
		spec := validSpec()
		spec.DocumentLibrary.SourceBucket, spec.DocumentLibrary.SourcePrefix = "liferay-backups", "retail/dl/"
		spec.DocumentLibrary.DestinationPrefix = "retail/dl-backups/20251109/"
		Expect(k8sClient.Create(ctx, newRequest(spec))).To(Succeed())
	})

	It("keeps a '..' inside a name segment valid (only whole '..' segments are refused)", func() {
		spec := validSpec()
		spec.DocumentLibrary.DestinationPrefix = "retail/prd/v1..2/"
		Expect(k8sClient.Create(ctx, newRequest(spec))).To(Succeed())
	})

	It("refuses an edit of an existing spec", func() {
		br := newRequest(validSpec())
		Expect(k8sClient.Create(ctx, br)).To(Succeed())
		br.Spec.DocumentLibrary.DestinationPrefix = "retail/prd/elsewhere/"
		err := k8sClient.Update(ctx, br)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec: Invalid value"))
		Expect(err.Error()).To(ContainSubstring("spec is immutable"))
	})
})
