// Command storeenv runs the object store of make demo PROVIDER=gcp|azure|local on its
// emulator, natively and on a free loopback port: fake-gcs-server behind its label
// proxy (test/harness), Azurite, or versitygw (the benchmarks' S3 server). It seeds
// the sample the aws demo uses: the document library liferay-test-dl labelled as
// project retail's, and the shared backup bucket liferay-backups (liferay-test-dl and
// liferay-backups become containers on Azure), with the ownership tags written the
// store's own way (labels, container metadata, bucket tags).
//
// It writes <dir>/store.env, the manager's settings for the store (PROVIDERS and the
// store's endpoint and keys), then <dir>/store.ready, and runs until SIGTERM or SIGINT.
//
// Usage (hack/demo-store.sh does this):
//
//	storeenv -provider gcp -dir tmp/local
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	. "github.com/onsi/gomega" //nolint:revive // the fixtures report through Gomega

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/test/fixtures"
	"github.com/liferay/lc2-backup-controller/test/harness"
)

// The demo's names, as the aws demo's (test/localenv).
const (
	sourceBucket = "liferay-test-dl"
	backupBucket = "liferay-backups"
	projectID    = "retail"
	// demoKey and demoSecret are versitygw's keys in the demo: a throwaway local server.
	demoKey, demoSecret = "test", "test"
)

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC)
	log.SetPrefix("storeenv: ")
	name := flag.String("provider", "", "the store: gcp, azure or local")
	dir := flag.String("dir", "tmp/local", "state directory: store.env, store.ready, logs")
	flag.Parse()
	RegisterFailHandler(func(message string, _ ...int) { log.Fatal(message) })
	if err := run(*name, *dir); err != nil {
		log.Fatal(err)
	}
}

func run(name, dir string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	_ = os.Remove(filepath.Join(dir, "store.ready"))
	store, env, closeStore, err := start(ctx, backupv1alpha1.CloudProvider(name), dir)
	if err != nil {
		return err
	}
	defer closeStore()
	seed(store)
	env["PROVIDERS"] = "aws," + name
	if err := writeEnv(filepath.Join(dir, "store.env"), env); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "store.ready"), nil, 0o644); err != nil {
		return err
	}
	log.Printf("%s store ready; settings in %s", name, filepath.Join(dir, "store.env"))
	<-ctx.Done()
	return nil
}

// start runs the store's emulator and returns a fixture on it and the manager's settings.
func start(ctx context.Context, name backupv1alpha1.CloudProvider, dir string) (fixtures.ObjectStore, map[string]string, func(), error) {
	switch name {
	case backupv1alpha1.ProviderGCP:
		gcs, err := harness.StartFakeGCS(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		labels, err := harness.NewGCSLabelProxy(gcs.Endpoint)
		if err != nil {
			gcs.Stop()
			return nil, nil, nil, err
		}
		return fixtures.NewGCS(ctx, labels.URL), map[string]string{"GCS_ENDPOINT": labels.URL},
			func() { labels.Close(); gcs.Stop() }, nil
	case backupv1alpha1.ProviderAzure:
		az, err := harness.StartAzurite(ctx)
		if err != nil {
			return nil, nil, nil, err
		}
		return fixtures.NewAzure(ctx, az.AccountURL, az.AccountName, az.AccountKey), map[string]string{
			"AZURE_STORAGE_ACCOUNT_URL": az.AccountURL, "AZURE_STORAGE_ACCOUNT": az.AccountName, "AZURE_STORAGE_KEY": az.AccountKey,
		}, az.Stop, nil
	case backupv1alpha1.ProviderLocal:
		endpoint, proc, err := startVersitygw(ctx, dir)
		if err != nil {
			return nil, nil, nil, err
		}
		return fixtures.NewAWS(ctx, endpoint), map[string]string{
			"LOCAL_S3_ENDPOINT": endpoint, "LOCAL_S3_ACCESS_KEY_ID": demoKey, "LOCAL_S3_SECRET_ACCESS_KEY": demoSecret,
		}, func() { proc.Stop(5 * time.Second) }, nil
	}
	return nil, nil, nil, fmt.Errorf("-provider must be gcp, azure or local, got %q", name)
}

// startVersitygw serves a fresh data directory over S3 (hack/build-versitygw.sh builds it).
func startVersitygw(ctx context.Context, dir string) (string, *harness.Process, error) {
	root, err := harness.RepoRoot()
	if err != nil {
		return "", nil, err
	}
	out, err := exec.Command(filepath.Join(root, "hack", "build-versitygw.sh")).Output()
	if err != nil {
		return "", nil, fmt.Errorf("build versitygw: %w", err)
	}
	data := filepath.Join(dir, "versitygw-data")
	if err := os.RemoveAll(data); err != nil {
		return "", nil, err
	}
	if err := os.MkdirAll(data, 0o755); err != nil {
		return "", nil, err
	}
	port, err := harness.FreePort()
	if err != nil {
		return "", nil, err
	}
	logFile, err := os.Create(filepath.Join(dir, "versitygw.log"))
	if err != nil {
		return "", nil, err
	}
	defer func() { _ = logFile.Close() }()
	cmd := exec.Command(strings.TrimSpace(string(out)), "--keep-alive", "--quiet",
		"-a", demoKey, "-s", demoSecret, "-p", fmt.Sprintf("127.0.0.1:%d", port), "posix", data)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	proc, err := harness.StartProcess(cmd)
	if err != nil {
		return "", nil, err
	}
	endpoint := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := harness.WaitHTTP(ctx, endpoint, proc, 30*time.Second); err != nil {
		proc.Stop(5 * time.Second)
		return "", nil, fmt.Errorf("versitygw did not start: %w", err)
	}
	return endpoint, proc, nil
}

// seed writes the sample document library and the backup bucket, each labelled.
func seed(store fixtures.ObjectStore) {
	keys := fixtures.SeedDocumentLibraryIn(store, sourceBucket, 24, fixtures.ProjectTag(projectID))
	store.CreateBucket(backupBucket, fixtures.SharedBucketTag())
	log.Printf("seeded %s with %d documents and %d generated files (%s=%s), backup bucket %s (%s=true)",
		sourceBucket, len(keys), len(fixtures.GeneratedFiles), backupv1alpha1.OwnershipTagKey, projectID, backupBucket, backupv1alpha1.SharedBackupBucketTag)
}

// writeEnv writes settings as shell assignments, sorted.
func writeEnv(path string, env map[string]string) error {
	names := make([]string, 0, len(env))
	for k := range env {
		names = append(names, k)
	}
	sort.Strings(names)
	var b strings.Builder
	for _, k := range names {
		fmt.Fprintf(&b, "export %s=%q\n", k, env[k])
	}
	return os.WriteFile(path, []byte(b.String()), 0o600)
}
