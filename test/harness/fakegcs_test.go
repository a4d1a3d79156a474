package harness

import (
	"bytes"
	"context"
	"errors"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"sync"
	"syscall"
	"testing"

	"cloud.google.com/go/storage"
	"google.golang.org/api/iterator"
	"google.golang.org/api/option"
)

func TestStartFakeGCSAnswersAndStops(t *testing.T) {
	f, err := StartFakeGCS(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Get(f.Endpoint + "/storage/v1/b")
	if err != nil {
		t.Fatalf("fake-gcs-server not answering: %v", err)
	}
	if err := resp.Body.Close(); err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("list buckets: %s", resp.Status)
	}
	pid := f.proc.cmd.Process.Pid
	f.Stop()
	if !f.proc.Exited() {
		t.Fatal("fake-gcs-server still running after Stop")
	}
	if err := syscall.Kill(-pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Fatalf("fake-gcs-server's process group %d still there after Stop: %v", pid, err)
	}
	if _, err := os.Stat(f.logPath); !os.IsNotExist(err) {
		t.Fatalf("fake-gcs-server log %s left behind: %v", f.logPath, err)
	}
}

// hostRecorder is an HTTP transport that notes the host of every request it sends.
type hostRecorder struct {
	mu    sync.Mutex
	hosts map[string]bool
}

func (h *hostRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	h.mu.Lock()
	h.hosts[r.URL.Host] = true
	h.mu.Unlock()
	return http.DefaultTransport.RoundTrip(r)
}

func (h *hostRecorder) seen() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Sorted(maps.Keys(h.hosts))
}

// newGCSClient is the real Cloud Storage client on an emulator (or proxy) base URL, the
// way the provider builds it; every request it sends is noted in rec.
func newGCSClient(t *testing.T, base string, rec *hostRecorder, opts ...option.ClientOption) *storage.Client {
	t.Helper()
	opts = append([]option.ClientOption{
		option.WithEndpoint(base + "/storage/v1/"),
		option.WithHTTPClient(&http.Client{Transport: rec}),
	}, opts...)
	c, err := storage.NewClient(context.Background(), opts...)
	if err != nil {
		t.Fatalf("storage client: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func TestGCSLabelProxyOnFakeGCS(t *testing.T) {
	ctx := context.Background()
	f, err := StartFakeGCS(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Stop)
	proxy, err := NewGCSLabelProxy(f.Endpoint)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(proxy.Close)
	rec := &hostRecorder{hosts: map[string]bool{}}
	client := newGCSClient(t, proxy.URL, rec, storage.WithJSONReads())

	labelsOf := func(t *testing.T, bucket string) map[string]string {
		t.Helper()
		attrs, err := client.Bucket(bucket).Attrs(ctx)
		if err != nil {
			t.Fatalf("attrs of %s: %v", bucket, err)
		}
		return attrs.Labels
	}
	wantLabels := func(t *testing.T, what string, got, want map[string]string) {
		t.Helper()
		if !maps.Equal(got, want) {
			t.Fatalf("%s: labels %v, want %v", what, got, want)
		}
	}

	t.Run("the emulator alone forgets labels", func(t *testing.T) {
		// When a fake-gcs-server release keeps labels, this fails: the proxy is no
		// longer needed.
		direct := newGCSClient(t, f.Endpoint, &hostRecorder{hosts: map[string]bool{}}, storage.WithJSONReads())
		if err := direct.Bucket("direct").Create(ctx, "lc2-test", &storage.BucketAttrs{Labels: map[string]string{"a": "1"}}); err != nil {
			t.Fatal(err)
		}
		attrs, err := direct.Bucket("direct").Attrs(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(attrs.Labels) != 0 {
			t.Fatalf("fake-gcs-server now keeps bucket labels (%v): drop GCSLabelProxy", attrs.Labels)
		}
	})

	t.Run("labels of a create, a patch, a list and SetBucketLabels", func(t *testing.T) {
		b := client.Bucket("labelled")
		if err := b.Create(ctx, "lc2-test", &storage.BucketAttrs{Labels: map[string]string{"keep": "k", "drop": "d"}}); err != nil {
			t.Fatal(err)
		}
		wantLabels(t, "after create", labelsOf(t, "labelled"), map[string]string{"keep": "k", "drop": "d"})

		var update storage.BucketAttrsToUpdate
		update.SetLabel("added", "a")
		update.SetLabel("keep", "k2")
		update.DeleteLabel("drop")
		attrs, err := b.Update(ctx, update)
		if err != nil {
			t.Fatal(err)
		}
		want := map[string]string{"keep": "k2", "added": "a"}
		wantLabels(t, "in the patch's answer", attrs.Labels, want)
		wantLabels(t, "after the patch", labelsOf(t, "labelled"), want)

		// A patch that leaves labels alone keeps them.
		if _, err := b.Update(ctx, storage.BucketAttrsToUpdate{VersioningEnabled: true}); err != nil {
			t.Fatal(err)
		}
		wantLabels(t, "after a patch without labels", labelsOf(t, "labelled"), want)

		if err := client.Bucket("plain").Create(ctx, "lc2-test", nil); err != nil {
			t.Fatal(err)
		}
		listed := map[string]map[string]string{}
		it := client.Buckets(ctx, "lc2-test")
		for {
			attrs, err := it.Next()
			if errors.Is(err, iterator.Done) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			listed[attrs.Name] = attrs.Labels
		}
		wantLabels(t, "labelled in the list", listed["labelled"], want)
		wantLabels(t, "plain in the list", listed["plain"], nil)

		proxy.SetBucketLabels("plain", map[string]string{"set": "directly"})
		wantLabels(t, "after SetBucketLabels", labelsOf(t, "plain"), map[string]string{"set": "directly"})

		var clear storage.BucketAttrsToUpdate
		clear.DeleteLabel("set")
		if _, err := client.Bucket("plain").Update(ctx, clear); err != nil {
			t.Fatal(err)
		}
		wantLabels(t, "after deleting the only label", labelsOf(t, "plain"), nil)
	})

	t.Run("a deleted bucket's labels are forgotten", func(t *testing.T) {
		b := client.Bucket("recreated")
		if err := b.Create(ctx, "lc2-test", &storage.BucketAttrs{Labels: map[string]string{"old": "o"}}); err != nil {
			t.Fatal(err)
		}
		if err := b.Delete(ctx); err != nil {
			t.Fatal(err)
		}
		if err := b.Create(ctx, "lc2-test", nil); err != nil {
			t.Fatal(err)
		}
		wantLabels(t, "after re-creating", labelsOf(t, "recreated"), nil)
	})

	t.Run("a resumable upload and downloads go through the proxy", func(t *testing.T) {
		if err := client.Bucket("big").Create(ctx, "lc2-test", nil); err != nil {
			t.Fatal(err)
		}
		// More than one 16 MiB chunk: a resumable session, continued at the URL the
		// emulator hands out.
		data := make([]byte, 16<<20+123457)
		for i := range data {
			data[i] = byte(i*7 + i>>13)
		}
		w := client.Bucket("big").Object("blob").NewWriter(ctx)
		if _, err := io.Copy(w, bytes.NewReader(data)); err != nil {
			t.Fatal(err)
		}
		if err := w.Close(); err != nil {
			t.Fatalf("upload: %v", err)
		}
		if w.Attrs().Size != int64(len(data)) {
			t.Fatalf("uploaded %d bytes, want %d", w.Attrs().Size, len(data))
		}
		// JSON reads (what the provider uses), and XML reads (GET /<bucket>/<object>
		// on the endpoint's host, which the emulator's public host must match).
		xml := newGCSClient(t, proxy.URL, rec)
		for name, c := range map[string]*storage.Client{"JSON": client, "XML": xml} {
			r, err := c.Bucket("big").Object("blob").NewReader(ctx)
			if err != nil {
				t.Fatalf("%s read: %v", name, err)
			}
			got, err := io.ReadAll(r)
			_ = r.Close()
			if err != nil {
				t.Fatalf("%s read: %v", name, err)
			}
			if !bytes.Equal(got, data) {
				t.Fatalf("%s read: %d bytes back, not the %d uploaded", name, len(got), len(data))
			}
		}
	})

	// Every request of the proxy's clients, resumable chunks included, went to the proxy.
	if hosts, want := rec.seen(), []string{proxy.Listener.Addr().String()}; !slices.Equal(hosts, want) {
		t.Fatalf("requests went to %v, want only the proxy %v", hosts, want)
	}
}
