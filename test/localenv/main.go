// Command localenv runs the Kubernetes side of the local development environment
// (make local-up): a real kube-apiserver and etcd (the envtest binaries) with the
// BackupRequest CRD installed, a kubeconfig for an admin user, the project namespace
// of the design note, and the AWS emulator seeded like the design note's LocalStack
// init (buckets, document-library files, an RDS instance), with the ownership tags
// the controller checks before any write: the document-library bucket and the RDS
// instance carry backup.liferay.cloud/project-id=retail, the shared backup bucket
// backup.liferay.cloud/shared-backup-bucket=true.
//
// It writes <dir>/kubeconfig, then <dir>/ready once everything is in place, and runs
// until SIGTERM or SIGINT, when it stops the API server and etcd. etcd keeps its data
// in <dir>/etcd, so BackupRequests survive a restart. The pids of the processes it
// starts go to <dir>/localenv.children, so hack/local-env.sh can clean up after a
// SIGKILL.
//
// Usage (hack/local-env.sh does this):
//
//	KUBEBUILDER_ASSETS=... AWS_ENDPOINT_URL=http://127.0.0.1:4566 localenv -dir tmp/local
//
// With -seed-only it seeds (and tags) the emulator and exits, without an API server:
// hack/local-env.sh runs that when the environment is already up, so an emulator
// seeded by an older version gets the current seed.
package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
)

// Seed data: the names the design note's LocalStack init uses.
const (
	sourceBucket      = "liferay-test-dl"
	backupBucket      = "liferay-backups"
	dbInstance        = "retail-prd-db"
	projectNamespace  = "proj-retail-prd"
	projectID         = "retail"
	documentLibraryFS = "document_library/"
)

// ownershipTagKey is the key of the tag that gives the seeded source bucket and RDS
// instance to projectID.
var ownershipTagKey = backupv1alpha1.OwnershipTagKey

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}

// generatedFiles are paths Liferay regenerates (provider.GeneratedFilePatterns), so a
// backup with excludeGeneratedFiles: true leaves them out.
var generatedFiles = []string{
	"20097/0/document_thumbnail/20121/1001/1.0.jpg",
	"20097/0/document_thumbnail/20121/1002/1.0.jpg",
	"20097/0/document_preview/20121/1001/1.0/1.png",
	"20097/0/document_preview/20121/1003/1.0/1.png",
	"20097/0/adaptive/6d2f1c7e/20121/20121/1001/1.0",
	"20097/0/adaptive/6d2f1c7e/20121/20121/1002/1.0",
}

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	log.SetPrefix("localenv: ")
	dir := flag.String("dir", "tmp/local", "state directory: kubeconfig, ready file, etcd data")
	crds := flag.String("crds", "config/crd/bases", "directory of the CRDs to install")
	endpoint := flag.String("aws-endpoint", os.Getenv("AWS_ENDPOINT_URL"), "AWS emulator to seed (AWS_ENDPOINT_URL); empty: no seeding")
	flag.StringVar(&ownershipTagKey, "ownership-tag-key", envOr("OWNERSHIP_TAG_KEY", backupv1alpha1.OwnershipTagKey),
		"key of the project ownership tag put on the seeded bucket and instance (the controller's --ownership-tag-key)")
	seedOnly := flag.Bool("seed-only", false, "seed the emulator at -aws-endpoint and exit (no API server)")
	flag.Parse()
	if *seedOnly {
		if *endpoint == "" {
			log.Fatal("-seed-only needs -aws-endpoint (or AWS_ENDPOINT_URL)")
		}
		if err := seed(context.Background(), *endpoint); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := run(*dir, *crds, *endpoint); err != nil {
		log.Fatal(err)
	}
}

func run(dir, crds, endpoint string) error {
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		return errors.New("KUBEBUILDER_ASSETS is not set (hack/build-envtest-assets.sh prints it)")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	ready := filepath.Join(dir, "ready")
	_ = os.Remove(ready)
	etcdDir := filepath.Join(dir, "etcd")
	if err := os.MkdirAll(etcdDir, 0o700); err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{crds},
		ErrorIfCRDPathMissing: true,
	}
	env.ControlPlane.Etcd = &envtest.Etcd{DataDir: etcdDir}
	log.Printf("starting etcd and kube-apiserver from %s", os.Getenv("KUBEBUILDER_ASSETS"))
	if _, err := env.Start(); err != nil {
		return fmt.Errorf("start API server: %w", err)
	}
	defer func() {
		log.Print("stopping kube-apiserver and etcd")
		if err := env.Stop(); err != nil {
			log.Printf("stop: %v", err)
		}
		_ = os.Remove(ready)
		_ = os.Remove(filepath.Join(dir, "localenv.children"))
		log.Print("stopped")
	}()
	recordChildren(filepath.Join(dir, "localenv.children"))

	if err := setUp(ctx, env, dir, endpoint); err != nil {
		return err
	}
	if err := os.WriteFile(ready, []byte(env.Config.Host+"\n"), 0o644); err != nil {
		return err
	}
	log.Printf("ready: API server %s, kubeconfig %s", env.Config.Host, filepath.Join(dir, "kubeconfig"))
	<-ctx.Done()
	return nil
}

// setUp writes the kubeconfig, creates the project namespace and seeds the emulator.
func setUp(ctx context.Context, env *envtest.Environment, dir, endpoint string) error {
	user, err := env.AddUser(envtest.User{Name: "admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return fmt.Errorf("add admin user: %w", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		return fmt.Errorf("render kubeconfig: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), kubeconfig, 0o600); err != nil {
		return err
	}

	c, err := client.New(env.Config, client.Options{})
	if err != nil {
		return err
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
		Name:   projectNamespace,
		Labels: map[string]string{backupv1alpha1.ProjectLabel: projectID},
	}}
	if err := c.Create(ctx, ns); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create namespace %s: %w", projectNamespace, err)
	}
	log.Printf("namespace %s labelled %s=%s", projectNamespace, backupv1alpha1.ProjectLabel, projectID)

	if endpoint == "" {
		log.Print("no AWS endpoint: emulator not seeded")
		return nil
	}
	return seed(ctx, endpoint)
}

// seed creates the buckets, the document-library files and the RDS instance, and
// tags them. Running it again on a seeded emulator changes nothing.
func seed(ctx context.Context, endpoint string) error {
	cfg := aws.Config{
		Region:       "us-east-1",
		Credentials:  credentials.NewStaticCredentialsProvider("test", "test", ""),
		BaseEndpoint: aws.String(endpoint),
	}
	s3c := s3.NewFromConfig(cfg, func(o *s3.Options) { o.UsePathStyle = true })
	buckets := []struct {
		name     string
		key, val string
	}{
		{sourceBucket, ownershipTagKey, projectID},                   // the project's document library
		{backupBucket, backupv1alpha1.SharedBackupBucketTag, "true"}, // shared: each project under <projectId>/
	}
	for _, b := range buckets {
		if _, err := s3c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b.name)}); err != nil &&
			!strings.Contains(err.Error(), "BucketAlreadyOwnedByYou") && !strings.Contains(err.Error(), "BucketAlreadyExists") {
			return fmt.Errorf("create bucket %s: %w", b.name, err)
		}
		if _, err := s3c.PutBucketTagging(ctx, &s3.PutBucketTaggingInput{
			Bucket:  aws.String(b.name),
			Tagging: &s3types.Tagging{TagSet: []s3types.Tag{{Key: aws.String(b.key), Value: aws.String(b.val)}}},
		}); err != nil {
			return fmt.Errorf("tag bucket %s: %w", b.name, err)
		}
		log.Printf("bucket %s tagged %s=%s", b.name, b.key, b.val)
	}
	files := sampleFiles()
	for key, body := range files {
		if _, err := s3c.PutObject(ctx, &s3.PutObjectInput{
			Bucket: aws.String(sourceBucket), Key: aws.String(key), Body: bytes.NewReader(body),
		}); err != nil {
			return fmt.Errorf("put s3://%s/%s: %w", sourceBucket, key, err)
		}
	}
	log.Printf("seeded s3://%s/%s with %d objects (%d generated files), bucket %s",
		sourceBucket, documentLibraryFS, len(files), len(generatedFiles), backupBucket)

	rdsc := rds.NewFromConfig(cfg)
	projectTag := []rdstypes.Tag{{Key: aws.String(ownershipTagKey), Value: aws.String(projectID)}}
	described, err := rdsc.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: aws.String(dbInstance)})
	var notFound *rdstypes.DBInstanceNotFoundFault
	switch {
	case err == nil && len(described.DBInstances) > 0:
		if _, err := rdsc.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{
			ResourceName: described.DBInstances[0].DBInstanceArn, Tags: projectTag,
		}); err != nil {
			return fmt.Errorf("tag RDS instance %s: %w", dbInstance, err)
		}
		log.Printf("RDS instance %s already exists; tagged %s=%s", dbInstance, ownershipTagKey, projectID)
	case err == nil || errors.As(err, &notFound) || strings.Contains(err.Error(), "DBInstanceNotFound"):
		if _, err := rdsc.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
			DBInstanceIdentifier: aws.String(dbInstance),
			DBInstanceClass:      aws.String("db.t3.micro"),
			Engine:               aws.String("postgres"),
			EngineVersion:        aws.String("15.4"),
			AllocatedStorage:     aws.Int32(20),
			MasterUsername:       aws.String("liferay"),
			MasterUserPassword:   aws.String("liferay-password"),
			Tags:                 projectTag,
		}); err != nil {
			return fmt.Errorf("create RDS instance %s: %w", dbInstance, err)
		}
		log.Printf("created RDS instance %s (postgres), tagged %s=%s", dbInstance, ownershipTagKey, projectID)
	default:
		return fmt.Errorf("describe RDS instance %s: %w", dbInstance, err)
	}
	return nil
}

// sampleFiles is a small Liferay document library: user documents at
// <companyId>/<repositoryId>/<fileEntryId>/<version>, plus generated files.
func sampleFiles() map[string][]byte {
	files := map[string][]byte{}
	for i := range 12 {
		id := 1001 + i
		versions := []string{"1.0"}
		if i%4 == 0 {
			versions = append(versions, "1.1")
		}
		for _, v := range versions {
			key := fmt.Sprintf("%s20097/20121/%d/%s", documentLibraryFS, id, v)
			files[key] = bytes.Repeat([]byte(fmt.Sprintf("document %d version %s\n", id, v)), 64*(i+1))
		}
	}
	for _, p := range generatedFiles {
		files[documentLibraryFS+p] = []byte("regenerable rendition of " + p + "\n")
	}
	return files
}

// recordChildren writes the pid and command of each process this one started (etcd,
// kube-apiserver): envtest starts them in their own process groups, so they outlive
// a SIGKILL of this process unless someone stops them.
func recordChildren(path string) {
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	self := strconv.Itoa(os.Getpid())
	var out strings.Builder
	for _, e := range entries {
		if _, err := strconv.Atoi(e.Name()); err != nil {
			continue
		}
		stat, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the ")" closing the command name: state, ppid, ...
		rest := string(stat[bytes.LastIndexByte(stat, ')')+1:])
		if f := strings.Fields(rest); len(f) > 1 && f[1] == self {
			comm, _ := os.ReadFile(filepath.Join("/proc", e.Name(), "comm"))
			fmt.Fprintf(&out, "%s %s\n", e.Name(), strings.TrimSpace(string(comm)))
		}
	}
	_ = os.WriteFile(path, []byte(out.String()), 0o644)
}
