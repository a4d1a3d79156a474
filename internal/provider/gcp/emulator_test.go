package gcp

import (
	"bytes"
	"context"
	"io"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
)

// The gaps the proxy fills are real: straight on the emulator, labels are forgotten
// and a write-once rewrite overwrites. When a fake-gcs-server release closes a gap,
// its test here fails: drop that part of the proxy and of docs/gcp-provider.md.
func TestEmulatorGapsTheProxyFills(t *testing.T) {
	ctx := context.Background()
	direct := newRawClient(t, emulator.URL())

	t.Run("bucket labels are not stored", func(t *testing.T) {
		bucket := direct.newBucket(t, map[string]string{"backup_liferay_cloud__project-id": "retail"})
		tags, err := newTestProvider(t, emulator.URL(), Options{}).BucketTags(ctx, bucket)
		if err != nil {
			t.Fatalf("BucketTags: %v", err)
		}
		if len(tags) != 0 {
			t.Fatalf("the emulator now keeps bucket labels (%v): the proxy's labels are no longer needed", tags)
		}
	})

	t.Run("a rewrite with ifGenerationMatch=0 overwrites", func(t *testing.T) {
		bucket := direct.newBucket(t, nil)
		direct.put(t, bucket, "src", []byte("source"))
		direct.put(t, bucket, "dst", []byte("existing"))
		dst := direct.Bucket(bucket).Object("dst").If(storage.Conditions{DoesNotExist: true})
		if _, err := dst.CopierFrom(direct.Bucket(bucket).Object("src")).Run(ctx); err != nil {
			t.Fatalf("the emulator now refuses a write-once rewrite onto an existing object (%v): the proxy's precondition is no longer needed", err)
		}
		if got, _ := direct.read(t, bucket, "dst"); string(got) != "source" {
			t.Fatalf("dst holds %q", got)
		}
	})
}

// Without Options.Endpoint the client follows STORAGE_EMULATOR_HOST, without
// credentials (which a test machine does not have).
func TestNewFollowsStorageEmulatorHost(t *testing.T) {
	t.Setenv(emulatorHostEnv, strings.TrimPrefix(gaps.URL, "http://"))
	p, err := New(context.Background(), Options{})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	defer func() { _ = p.Close() }()
	bucket := newRawClient(t, gaps.URL).newBucket(t, nil)
	if err := p.UploadObject(context.Background(), bucket, "claim", []byte("mine")); err != nil {
		t.Fatalf("upload through STORAGE_EMULATOR_HOST: %v", err)
	}
	rc, err := p.DownloadObject(context.Background(), bucket, "claim")
	if err != nil {
		t.Fatalf("download: %v", err)
	}
	defer func() { _ = rc.Close() }()
	if got, _ := io.ReadAll(rc); !bytes.Equal(got, []byte("mine")) {
		t.Fatalf("read back %q", got)
	}
}

func TestEmulatorEndpoint(t *testing.T) {
	for in, want := range map[string]string{
		"http://127.0.0.1:4443":             "http://127.0.0.1:4443/storage/v1/",
		"http://127.0.0.1:4443/":            "http://127.0.0.1:4443/storage/v1/",
		"http://127.0.0.1:4443/storage/v1":  "http://127.0.0.1:4443/storage/v1/",
		"http://127.0.0.1:4443/storage/v1/": "http://127.0.0.1:4443/storage/v1/",
	} {
		if got := emulatorEndpoint(in); got != want {
			t.Errorf("emulatorEndpoint(%q) = %q, want %q", in, got, want)
		}
	}
}
