package crd

import (
	"fmt"
	"os"
	"path/filepath"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/utils/ptr"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

func validRestoreSpec() backupv1alpha1.RestoreRequestSpec {
	return backupv1alpha1.RestoreRequestSpec{
		Source:   backupv1alpha1.RestoreSource{BackupRequestName: "retail-prd-nightly"},
		Database: &backupv1alpha1.DatabaseRestoreSpec{TargetInstanceID: "retail-prd-db-restored"},
		DocumentLibrary: &backupv1alpha1.DocumentLibraryRestoreSpec{
			TargetBucket: "liferay-retail-prd-dl", TargetPrefix: "restored/document_library/",
		},
	}
}

var _ = Describe("RestoreRequest CRD", func() {
	const namespace = "proj-retail-prd"
	var n int

	BeforeEach(func() {
		err := k8sClient.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}})
		if err != nil && !apierrors.IsAlreadyExists(err) {
			Expect(err).NotTo(HaveOccurred())
		}
	})
	newRestore := func(spec backupv1alpha1.RestoreRequestSpec) *backupv1alpha1.RestoreRequest {
		n++
		return &backupv1alpha1.RestoreRequest{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("restore-%d", n), Namespace: namespace}, Spec: spec}
	}

	It("accepts the sample and applies the defaults", func() {
		data, err := os.ReadFile(filepath.Join("..", "..", "config", "samples", "restore_v1alpha1_restorerequest.yaml"))
		Expect(err).NotTo(HaveOccurred())
		rr := &backupv1alpha1.RestoreRequest{}
		Expect(yaml.Unmarshal(data, rr)).To(Succeed())
		Expect(k8sClient.Create(ctx, rr)).To(Succeed())

		spec := validRestoreSpec()
		spec.DocumentLibrary.ExistingObjects = ""
		created := newRestore(spec)
		Expect(k8sClient.Create(ctx, created)).To(Succeed())
		Expect(created.Spec.DocumentLibrary.ExistingObjects).To(Equal(backupv1alpha1.ExistingObjectsRefuse))
		Expect(created.Spec.VerifyOnly).To(BeFalse())
	})

	It("accepts a restore from a manifest URL and a verification", func() {
		spec := validRestoreSpec()
		spec.Source = backupv1alpha1.RestoreSource{Manifest: "s3://liferay-backups/retail/prd/20251109/manifest.json"}
		Expect(k8sClient.Create(ctx, newRestore(spec))).To(Succeed())
		Expect(k8sClient.Create(ctx, newRestore(backupv1alpha1.RestoreRequestSpec{
			Source: backupv1alpha1.RestoreSource{BackupRequestName: "nightly"}, VerifyOnly: true,
		}))).To(Succeed())
	})

	It("refuses any change to the spec once created", func() {
		rr := newRestore(validRestoreSpec())
		Expect(k8sClient.Create(ctx, rr)).To(Succeed())
		rr.Spec.Database.TargetInstanceID = "another-db"
		err := k8sClient.Update(ctx, rr)
		Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
		Expect(err.Error()).To(ContainSubstring("spec is immutable"))
	})

	DescribeTable("refuses an invalid RestoreRequest, naming the field",
		func(mutate func(*backupv1alpha1.RestoreRequestSpec), message string) {
			spec := validRestoreSpec()
			mutate(&spec)
			err := k8sClient.Create(ctx, newRestore(spec))
			Expect(err).To(HaveOccurred())
			Expect(apierrors.IsInvalid(err)).To(BeTrue(), "want Invalid, got %v", err)
			Expect(err.Error()).To(ContainSubstring(message))
		},
		Entry("both sources", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Source.Manifest = "s3://b/p/manifest.json"
		}, "set exactly one of spec.source.backupRequestName and spec.source.manifest"),
		Entry("a provider with a backupRequestName", func(s *backupv1alpha1.RestoreRequestSpec) { s.Source.Provider = backupv1alpha1.ProviderGCP },
			"a backupRequestName restore takes its backup's spec.provider"),
		Entry("an unknown provider of a manifest", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Source = backupv1alpha1.RestoreSource{Manifest: "s3://b/p/manifest.json", Provider: "digitalocean"}
		}, "spec.source.provider: Unsupported value"),
		Entry("no source", func(s *backupv1alpha1.RestoreRequestSpec) { s.Source = backupv1alpha1.RestoreSource{} },
			"set exactly one of spec.source.backupRequestName and spec.source.manifest"),
		Entry("a manifest URL that is not a manifest", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Source = backupv1alpha1.RestoreSource{Manifest: "https://example.com/manifest.json"}
		}, "spec.source.manifest"),
		Entry("nothing to restore", func(s *backupv1alpha1.RestoreRequestSpec) { s.Database, s.DocumentLibrary = nil, nil },
			"set spec.database and/or spec.documentLibrary, or spec.verifyOnly: true"),
		Entry("verifyOnly with targets", func(s *backupv1alpha1.RestoreRequestSpec) { s.VerifyOnly = true },
			"spec.verifyOnly checks the backup without writing anything"),
		Entry("targetInstanceId with a double hyphen", func(s *backupv1alpha1.RestoreRequestSpec) { s.Database.TargetInstanceID = "retail--db" },
			"must not contain '--'"),
		Entry("targetInstanceId with a trailing hyphen", func(s *backupv1alpha1.RestoreRequestSpec) { s.Database.TargetInstanceID = "retail-db-" },
			"must not end with a hyphen"),
		Entry("targetInstanceId starting with a digit", func(s *backupv1alpha1.RestoreRequestSpec) { s.Database.TargetInstanceID = "1db" },
			"spec.database.targetInstanceId"),
		Entry("a security group that is not one", func(s *backupv1alpha1.RestoreRequestSpec) { s.Database.SecurityGroupIDs = []string{"default"} },
			"spec.database.securityGroupIds"),
		Entry("an instance class that is not one", func(s *backupv1alpha1.RestoreRequestSpec) { s.Database.InstanceClass = "large" },
			"spec.database.instanceClass"),
		Entry("targetPrefix without a trailing slash", func(s *backupv1alpha1.RestoreRequestSpec) { s.DocumentLibrary.TargetPrefix = "restored" },
			"targetPrefix must end with '/'"),
		Entry("an unknown existingObjects policy", func(s *backupv1alpha1.RestoreRequestSpec) { s.DocumentLibrary.ExistingObjects = "Merge" },
			"spec.documentLibrary.existingObjects"),
		Entry("a database section naming no database", func(s *backupv1alpha1.RestoreRequestSpec) { s.Database.TargetInstanceID = "" },
			"set spec.database.targetInstanceId (restore a snapshot into a new instance), spec.database.connectionSecretRef"),
		Entry("instance settings for a dump load into an existing database", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseRestoreSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}, InstanceClass: "db.t3.medium"}
		}, "a dump loaded through spec.database.connectionSecretRef alone goes into an existing database"),
		Entry("existingData for a snapshot restore", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database.ExistingData = backupv1alpha1.ExistingDataOverwrite
		}, "spec.database.existingData applies to a dump loaded into the existing database of spec.database.connectionSecretRef"),
		Entry("existingData for a dump loaded into a new instance", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database.ConnectionSecretRef = &backupv1alpha1.SecretReference{Name: "retail-db"}
			s.Database.ExistingData = backupv1alpha1.ExistingDataRefuse
		}, "a new instance (spec.database.targetInstanceId) is always empty"),
		Entry("allocatedStorageGiB for a snapshot restore", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database.AllocatedStorageGiB = ptr.To[int32](100)
		}, "spec.database.allocatedStorageGiB sizes a new instance a dump is loaded into"),
		Entry("allocatedStorageGiB below RDS's minimum", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database.ConnectionSecretRef = &backupv1alpha1.SecretReference{Name: "retail-db"}
			s.Database.AllocatedStorageGiB = ptr.To[int32](5)
		}, "spec.database.allocatedStorageGiB"),
		Entry("an unknown existingData policy", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseRestoreSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}, ExistingData: "Merge"}
		}, "spec.database.existingData"),
		Entry("IAM authentication for a snapshot restore", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database.Authentication = backupv1alpha1.DatabaseAuthIAM
		}, "spec.database.authentication is how the dumper logs in to the database spec.database.connectionSecretRef names"),
		Entry("IAM authentication for a dump loaded into a new instance", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database.ConnectionSecretRef = &backupv1alpha1.SecretReference{Name: "master"}
			s.Database.Authentication = backupv1alpha1.DatabaseAuthIAM
		}, "a new instance (spec.database.targetInstanceId) is created with the Secret's master password"),
		Entry("an unknown authentication", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseRestoreSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}, Authentication: "Kerberos"}
		}, "spec.database.authentication"),
		Entry("a connection Secret without a name", func(s *backupv1alpha1.RestoreRequestSpec) {
			s.Database = &backupv1alpha1.DatabaseRestoreSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{}}
		}, "spec.database.connectionSecretRef.name"),
	)

	It("accepts a dump loaded into a Secret's database, and a confirmed overwrite", func() {
		spec := validRestoreSpec()
		spec.Database = &backupv1alpha1.DatabaseRestoreSpec{ConnectionSecretRef: &backupv1alpha1.SecretReference{Name: "retail-db"}}
		Expect(k8sClient.Create(ctx, newRestore(spec))).To(Succeed())
		spec.Database.ExistingData = backupv1alpha1.ExistingDataOverwrite
		created := newRestore(spec)
		Expect(k8sClient.Create(ctx, created)).To(Succeed())
		Expect(created.Spec.Database.ExistingData).To(Equal(backupv1alpha1.ExistingDataOverwrite))
		spec.Database.Authentication = backupv1alpha1.DatabaseAuthIAM
		Expect(k8sClient.Create(ctx, newRestore(spec))).To(Succeed(), "a load that logs in with an RDS IAM token")
	})

	It("accepts a dump loaded into a new instance, with the instance's settings", func() {
		spec := validRestoreSpec()
		spec.Database.ConnectionSecretRef = &backupv1alpha1.SecretReference{Name: "retail-db-master"}
		spec.Database.InstanceClass = "db.t3.medium"
		spec.Database.MultiAZ = ptr.To(true)
		spec.Database.AllocatedStorageGiB = ptr.To[int32](100)
		created := newRestore(spec)
		Expect(k8sClient.Create(ctx, created)).To(Succeed())
		Expect(created.Spec.Database.ConnectionSecretRef.Name).To(Equal("retail-db-master"))
		Expect(created.Spec.Database.TargetInstanceID).To(Equal("retail-prd-db-restored"))
	})

	It("accepts an explicit publiclyAccessible: false", func() {
		spec := validRestoreSpec()
		spec.Database.PubliclyAccessible = ptr.To(false)
		Expect(k8sClient.Create(ctx, newRestore(spec))).To(Succeed())
	})
})
