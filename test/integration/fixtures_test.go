package integration

import (
	"bytes"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
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

func createBucket(name string) {
	GinkgoHelper()
	_, err := s3Client.CreateBucket(suiteCtx, &s3.CreateBucketInput{Bucket: aws.String(name)})
	Expect(err).NotTo(HaveOccurred())
}

func putObject(bucket, key string, body []byte) {
	GinkgoHelper()
	_, err := s3Client.PutObject(suiteCtx, &s3.PutObjectInput{Bucket: aws.String(bucket), Key: aws.String(key), Body: bytes.NewReader(body)})
	Expect(err).NotTo(HaveOccurred())
}

// seedDocumentLibrary writes n user documents plus generated files Liferay can rebuild,
// and returns the keys a backup with excludeGeneratedFiles must copy.
func seedDocumentLibrary(bucket string, n int) []string {
	GinkgoHelper()
	createBucket(bucket)
	var wanted []string
	for i := range n {
		key := fmt.Sprintf("document_library/20097/20121/%d/1.0", 1000+i)
		putObject(bucket, key, []byte(strings.Repeat(string(rune('a'+i%26)), 512+i)))
		wanted = append(wanted, strings.TrimPrefix(key, "document_library/"))
	}
	for _, generated := range []string{
		"document_library/20097/0/document_thumbnail/20121/1000/1.0.jpg",
		"document_library/20097/0/document_preview/20121/1000/1.0/1.png",
		"document_library/20097/0/adaptive/uuid-1/20121/1000/1.0",
	} {
		putObject(bucket, generated, []byte("regenerable"))
	}
	sort.Strings(wanted)
	return wanted
}

func listKeys(bucket, prefix string) []string {
	GinkgoHelper()
	var keys []string
	p := s3.NewListObjectsV2Paginator(s3Client, &s3.ListObjectsV2Input{Bucket: aws.String(bucket), Prefix: aws.String(prefix)})
	for p.HasMorePages() {
		page, err := p.NextPage(suiteCtx)
		Expect(err).NotTo(HaveOccurred())
		for _, o := range page.Contents {
			keys = append(keys, strings.TrimPrefix(aws.ToString(o.Key), prefix))
		}
	}
	sort.Strings(keys)
	return keys
}

func getObject(bucket, key string) []byte {
	GinkgoHelper()
	out, err := s3Client.GetObject(suiteCtx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	Expect(err).NotTo(HaveOccurred())
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	Expect(err).NotTo(HaveOccurred())
	return data
}

func createDBInstance(id string) {
	GinkgoHelper()
	_, err := rdsClient.CreateDBInstance(suiteCtx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: aws.String(id), DBInstanceClass: aws.String("db.t3.micro"), Engine: aws.String("postgres"),
		AllocatedStorage: aws.Int32(20), MasterUsername: aws.String("liferay"), MasterUserPassword: aws.String("liferay-password"),
	})
	Expect(err).NotTo(HaveOccurred())
}

// snapshotsOf lists the manual snapshots of a database instance in the emulator.
func snapshotsOf(instance string) []rdstypes.DBSnapshot {
	GinkgoHelper()
	out, err := rdsClient.DescribeDBSnapshots(suiteCtx, &rds.DescribeDBSnapshotsInput{DBInstanceIdentifier: aws.String(instance), SnapshotType: aws.String("manual")})
	Expect(err).NotTo(HaveOccurred())
	return out.DBSnapshots
}

func snapshotTags(arn string) map[string]string {
	GinkgoHelper()
	out, err := rdsClient.ListTagsForResource(suiteCtx, &rds.ListTagsForResourceInput{ResourceName: aws.String(arn)})
	Expect(err).NotTo(HaveOccurred())
	tags := map[string]string{}
	for _, t := range out.TagList {
		tags[aws.ToString(t.Key)] = aws.ToString(t.Value)
	}
	return tags
}

func newBackupRequest(namespace, name, project string, spec backupv1alpha1.BackupRequestSpec) *backupv1alpha1.BackupRequest {
	spec.ProjectID = project
	if spec.Environment == "" {
		spec.Environment = "prd"
	}
	return &backupv1alpha1.BackupRequest{ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name}, Spec: spec}
}

func getBR(namespace, name string) *backupv1alpha1.BackupRequest {
	br := &backupv1alpha1.BackupRequest{}
	Expect(k8sClient.Get(suiteCtx, types.NamespacedName{Namespace: namespace, Name: name}, br)).To(Succeed())
	return br
}

func phaseOf(namespace, name string) func() backupv1alpha1.BackupPhase {
	return func() backupv1alpha1.BackupPhase { return getBR(namespace, name).Status.Phase }
}
