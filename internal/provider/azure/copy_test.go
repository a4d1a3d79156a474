package azure

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// blockCopyOptions copy a blob above 4 MiB in 4 MiB ranges, one range at a time (so a
// fault after the second range leaves exactly two staged), with quick retries.
func blockCopyOptions(accountURL string) Options {
	return Options{AccountURL: accountURL, SingleCopyLimit: 4 << 20, BlockSize: 4 << 20, BlockConcurrency: 1, MaxRetries: 1, RetryDelay: 1}
}

// largeBlob is 9 MiB and a few bytes: three ranges of 4 MiB, the last one short.
func largeBlob() []byte {
	data := make([]byte, 9<<20+321)
	for i := range data {
		data[i] = byte(i*31 + i>>13)
	}
	return data
}

func TestLargeBlobIsCopiedInRangesWithTheSourcesBytesAndMD5(t *testing.T) {
	raw := newRawClient(t)
	src, dst := raw.newContainer(t, "blocks", nil), raw.newContainer(t, "blocks", nil)
	data := largeBlob()
	raw.put(t, src, "dl/video.mp4", data)
	proxy := newFaultProxy(t)
	p := newTestProvider(t, blockCopyOptions(proxy.URL))

	var stored []provider.StoredObject
	res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/",
		Stored: func(o provider.StoredObject) { stored = append(stored, o) },
	})
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if res.ObjectsCopied != 1 || res.BytesCopied != int64(len(data)) {
		t.Fatalf("result %+v, want the blob and all its bytes copied", *res)
	}
	if got := proxy.count(kindStageBlockFromURL); got != 3 {
		t.Errorf("%d Put Block From URL calls, want 3 ranges", got)
	}
	if got := proxy.count(kindCopyFromURL); got != 0 {
		t.Errorf("%d Copy Blob From URL calls for a blob above the single-call limit, want 0", got)
	}
	if got, ok := raw.getIfExists(t, dst, "b/video.mp4"); !ok || !bytes.Equal(got, data) {
		t.Fatalf("the staged copy differs from the source (%d bytes, want %d)", len(got), len(data))
	}
	props, err := raw.service.NewContainerClient(dst).NewBlobClient("b/video.mp4").GetProperties(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	sum := md5.Sum(data)
	if !bytes.Equal(props.ContentMD5, sum[:]) {
		t.Errorf("the copy's Content-MD5 is %x, want the source's %x", props.ContentMD5, sum)
	}
	if len(stored) != 1 || stored[0].ETag != stored[0].SourceETag || !stored[0].Copied {
		t.Errorf("Stored(%+v), want the copy with the source's identity", stored)
	}
}

func TestStagedCopyResumesWithTheBlocksAlreadyStaged(t *testing.T) {
	raw := newRawClient(t)
	src, dst := raw.newContainer(t, "resume", nil), raw.newContainer(t, "resume", nil)
	data := largeBlob()
	raw.put(t, src, "dl/video.mp4", data)
	proxy := newFaultProxy(t)
	p := newTestProvider(t, blockCopyOptions(proxy.URL))
	req := provider.ObjectStorageCopyRequest{SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/"}

	// The third range fails for good (a permission taken away mid-copy).
	staged := 0
	proxy.on(proxyHook{kind: kindStageBlockFromURL, before: func() (int, string) {
		if staged++; staged == 3 {
			return http.StatusForbidden, "AuthorizationPermissionMismatch"
		}
		return 0, ""
	}})
	res, err := p.CopyObjectStorage(context.Background(), req)
	if provider.KindOf(err) != provider.KindAccessDenied || res.ObjectsFailed != 1 || res.BytesCopied != 0 {
		t.Fatalf("interrupted copy = %+v, %v; want AccessDenied, 1 failed, no bytes counted", res, err)
	}
	if _, ok := raw.getIfExists(t, dst, "b/video.mp4"); ok {
		t.Fatal("an interrupted staged copy committed a blob")
	}

	proxy.clear()
	before := proxy.count(kindStageBlockFromURL)
	res, err = p.CopyObjectStorage(context.Background(), req)
	if err != nil || res.ObjectsCopied != 1 {
		t.Fatalf("resumed copy = %+v, %v", res, err)
	}
	if got := proxy.count(kindStageBlockFromURL) - before; got != 1 {
		t.Errorf("the resumed copy staged %d ranges, want only the one the first run did not", got)
	}
	if got, _ := raw.getIfExists(t, dst, "b/video.mp4"); !bytes.Equal(got, data) {
		t.Fatal("the resumed copy differs from the source")
	}
}

func TestBlockIDsAreDeterministicAndOfOneLength(t *testing.T) {
	ids := BlockIDs("dl/video.mp4", `"0x8D1"`, 9<<20+321, 4<<20)
	if len(ids) != 3 {
		t.Fatalf("%d block IDs, want 3", len(ids))
	}
	for _, id := range ids {
		if len(id) != len(ids[0]) {
			t.Fatalf("block IDs %q differ in length", ids)
		}
	}
	if again := BlockIDs("dl/video.mp4", `"0x8D1"`, 9<<20+321, 4<<20); again[2] != ids[2] {
		t.Errorf("block IDs changed between attempts: %q, %q", ids, again)
	}
	if other := BlockIDs("dl/video.mp4", `"0x8D2"`, 9<<20+321, 4<<20); other[0] == ids[0] {
		t.Error("another source version got the same block IDs: a retry would commit blocks of the old one")
	}
}

func TestSourceDeletedMidCopyIsVanished(t *testing.T) {
	raw := newRawClient(t)
	src, dst := raw.newContainer(t, "vanish", nil), raw.newContainer(t, "vanish", nil)
	raw.put(t, src, "dl/kept", []byte("kept"))
	raw.put(t, src, "dl/gone", []byte("deleted after the listing"))
	raw.put(t, src, "dl/large", largeBlob())
	proxy := newFaultProxy(t)
	p := newTestProvider(t, blockCopyOptions(proxy.URL))
	proxy.on(proxyHook{kind: kindCopyFromURL, suffix: "/b/gone", before: func() (int, string) {
		raw.deleteBlob(t, src, "dl/gone")
		return 0, ""
	}})
	proxy.on(proxyHook{kind: kindStageBlockFromURL, suffix: "/b/large", before: func() (int, string) {
		if _, ok := raw.getIfExists(t, src, "dl/large"); ok {
			raw.deleteBlob(t, src, "dl/large")
		}
		return 0, ""
	}})
	var stored []string
	var mu sync.Mutex
	res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/", FileListLimit: 10,
		Stored: func(o provider.StoredObject) { mu.Lock(); stored = append(stored, o.Key); mu.Unlock() },
	})
	if err != nil {
		t.Fatalf("copy: %v", err)
	}
	if res.ObjectsCopied != 1 || res.ObjectsVanished != 2 || res.ObjectsFailed != 0 || len(res.Files) != 1 {
		t.Fatalf("result %+v, want 1 copied and 2 vanished", *res)
	}
	if len(stored) != 1 || stored[0] != "b/kept" {
		t.Errorf("Stored called for %q, want only b/kept", stored)
	}
}

func TestFailedCopyNamesTheBlobAndCopiesTheRest(t *testing.T) {
	raw := newRawClient(t)
	src, dst := raw.newContainer(t, "failed", nil), raw.newContainer(t, "failed", nil)
	for _, k := range []string{"dl/a", "dl/b", "dl/c"} {
		raw.put(t, src, k, []byte(k))
	}
	proxy := newFaultProxy(t)
	p := newTestProvider(t, blockCopyOptions(proxy.URL))
	proxy.on(proxyHook{kind: kindCopyFromURL, suffix: "/b/b", before: func() (int, string) {
		return http.StatusInternalServerError, "InternalError"
	}})
	res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/",
	})
	if provider.KindOf(err) != provider.KindTransient || !bytes.Contains([]byte(provider.Describe(err)), []byte("dl/b")) {
		t.Fatalf("copy error %v (%s), want a transient error naming dl/b", err, provider.Describe(err))
	}
	if res.ObjectsCopied != 2 || res.ObjectsFailed != 1 {
		t.Fatalf("result %+v, want 2 copied and 1 failed", *res)
	}
}

// Azurite finishes every copy in the call; Azure may answer a copy that is not done. A
// synchronous copy that does not report success must not be taken as copied.
func TestCopyNotReportedSuccessIsNotStored(t *testing.T) {
	raw := newRawClient(t)
	src, dst := raw.newContainer(t, "pending", nil), raw.newContainer(t, "pending", nil)
	raw.put(t, src, "dl/a", []byte("a"))
	proxy := newFaultProxy(t)
	p := newTestProvider(t, blockCopyOptions(proxy.URL))
	proxy.on(proxyHook{kind: kindCopyFromURL, header: map[string]string{"x-ms-copy-status": "pending"}})
	var stored atomic.Int64
	res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/",
		Stored: func(provider.StoredObject) { stored.Add(1) },
	})
	if provider.KindOf(err) != provider.KindTransient || res.ObjectsFailed != 1 || stored.Load() != 0 {
		t.Fatalf("copy reported pending = %+v, %v, %d stored; want a transient failure and nothing stored", res, err, stored.Load())
	}
}

func TestSkipExistingWritesOnlyIfAbsent(t *testing.T) {
	raw := newRawClient(t)
	src, dst := raw.newContainer(t, "once", nil), raw.newContainer(t, "once", nil)
	raw.put(t, src, "dl/claim", []byte("ours"))
	proxy := newFaultProxy(t)
	p := newTestProvider(t, blockCopyOptions(proxy.URL))
	// Someone writes the name after the destination was listed: If-None-Match: * on
	// the copy keeps their blob.
	proxy.on(proxyHook{kind: kindCopyFromURL, suffix: "/b/claim", before: func() (int, string) {
		raw.put(t, dst, "b/claim", []byte("theirs"))
		return 0, ""
	}})
	res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/", Existing: provider.SkipExisting,
	})
	if err != nil || res.ObjectsSkipped != 1 || res.ObjectsCopied != 0 {
		t.Fatalf("copy = %+v, %v; want the blob written meanwhile kept", res, err)
	}
	if got, _ := raw.getIfExists(t, dst, "b/claim"); string(got) != "theirs" {
		t.Fatalf("b/claim holds %q, want the blob written meanwhile", got)
	}
}

// Azurite answers Copy Blob From URL without the Content-MD5 the copy carries over, so
// the provider reads it back; an answer that has it (as the proxy makes this one) saves
// that request per blob.
func TestCopyAnswerWithContentMD5NeedsNoReadBack(t *testing.T) {
	raw := newRawClient(t)
	src, dst := raw.newContainer(t, "md5", nil), raw.newContainer(t, "md5", nil)
	raw.put(t, src, "dl/a", []byte("a"))
	raw.put(t, src, "dl/b", []byte("b"))
	proxy := newFaultProxy(t)
	p := newTestProvider(t, blockCopyOptions(proxy.URL))
	sum := md5.Sum([]byte("a"))
	proxy.on(proxyHook{kind: kindCopyFromURL, suffix: "/b/a", header: map[string]string{"Content-MD5": base64.StdEncoding.EncodeToString(sum[:])}})
	stored := map[string]string{}
	var mu sync.Mutex
	_, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
		SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/", Existing: provider.Unchecked,
		Stored: func(o provider.StoredObject) { mu.Lock(); stored[o.Key] = o.ETag; mu.Unlock() },
	})
	if err != nil {
		t.Fatal(err)
	}
	sumB := md5.Sum([]byte("b"))
	if stored["b/a"] != hex.EncodeToString(sum[:]) || stored["b/b"] != hex.EncodeToString(sumB[:]) {
		t.Errorf("Stored ETags %v, want the MD5s of a and b", stored)
	}
	if got := proxy.count(kindGetProperties); got != 1 {
		t.Errorf("%d Get Blob Properties requests, want 1 (only for the answer without Content-MD5)", got)
	}
}

// A caller's list names objects of a source container that does not exist: that is the
// container missing, not every object vanished.
func TestCopyItemsFromAMissingSourceContainerIsNotFound(t *testing.T) {
	raw := newRawClient(t)
	dst := raw.newContainer(t, "items", nil)
	missing := fmt.Sprintf("no-such-source-%d", containerSeq.Add(1))
	p := newTestProvider(t, Options{})
	for _, existing := range []provider.ExistingObjects{provider.SkipIdentical, provider.Unchecked} {
		res, err := p.CopyObjectStorage(context.Background(), provider.ObjectStorageCopyRequest{
			SourceBucket: missing, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/", Existing: existing,
			Objects: func(yield func(provider.CopyItem, error) bool) {
				yield(provider.CopyItem{Source: provider.ObjectMetadata{Key: "dl/a", Size: 1, ETag: "0cc175b9c0f1b6a831c399e269772661"}}, nil)
			},
		})
		if provider.KindOf(err) != provider.KindNotFound || !strings.Contains(provider.Describe(err), missing) || res.ObjectsVanished != 0 {
			t.Fatalf("%s copy from a missing container = %+v, %v (%s); want NotFound naming %s", existing, res, err, provider.Describe(err), missing)
		}
	}
}
