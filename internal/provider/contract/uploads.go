package contract

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// ---- Streamed uploads (provider.StreamUploader) -----------------------------------

// errBodyBroken is the read error of a body that breaks off mid-stream, as a dump
// whose pg_dump dies does.
var errBodyBroken = errors.New("pg_dump: connection to the server was lost")

// stream is data as a body of unknown length: it offers nothing but Read, as a pipe.
func stream(data []byte) io.Reader {
	return struct{ io.Reader }{bytes.NewReader(data)}
}

// breakingBody yields the first n bytes of data, then fails with errBodyBroken.
func breakingBody(data []byte, n int) io.Reader {
	return io.MultiReader(stream(data[:n]), failingReader{errBodyBroken})
}

type failingReader struct{ err error }

func (r failingReader) Read([]byte) (int, error) { return 0, r.err }

// cancellingBody yields data and calls cancel once n bytes have been read, and would
// go on: the upload, not the body, must notice its context is done.
type cancellingBody struct {
	data   io.Reader
	read   int
	n      int
	cancel context.CancelFunc
}

func (b *cancellingBody) Read(p []byte) (int, error) {
	if b.read < b.n && len(p) > b.n-b.read {
		p = p[:b.n-b.read] // cancel at exactly n bytes
	}
	n, err := b.data.Read(p)
	b.read += n
	if b.read >= b.n {
		b.cancel()
	}
	return n, err
}

// pattern returns size bytes that differ from offset to offset, so a part sent twice,
// dropped or reordered changes the digest.
func pattern(size int) []byte {
	data := make([]byte, size)
	for i := range data {
		data[i] = byte(i*31 + i>>13)
	}
	return data
}

func sha256Hex(data []byte) string {
	sum := sha256.Sum256(data)
	return fmt.Sprintf("%x", sum)
}

func (s *suite) uploads(t *testing.T) {
	ctx := context.Background()
	// Three parts of the smallest part size, the last one short.
	large := pattern(2*int(provider.MinStreamPartSize) + 1<<20 + 4321)

	uploader := func(t *testing.T, env Env) provider.StreamUploader {
		t.Helper()
		up, ok := env.Provider.(provider.StreamUploader)
		if !ok {
			t.Fatalf("%T does not implement provider.StreamUploader", env.Provider)
		}
		return up
	}
	// nothingLeft checks that key holds want (nil: no object) and, where the store can
	// list them, that no unfinished upload keeps parts in bucket.
	nothingLeft := func(t *testing.T, env Env, bucket, key string, want []byte) {
		t.Helper()
		got, ok := env.ReadObject(t, bucket, key)
		switch {
		case want == nil && ok:
			t.Errorf("a failed upload left an object of %d bytes at %s", len(got), key)
		case want != nil && (!ok || !bytes.Equal(got, want)):
			t.Errorf("a failed upload changed %s: %d bytes (present %v), want the %d it held", key, len(got), ok, len(want))
		}
		if env.UnfinishedUploads != nil {
			if left := env.UnfinishedUploads(t, bucket); len(left) != 0 {
				t.Errorf("a failed upload left the parts of unfinished uploads to %q", left)
			}
		}
	}

	t.Run("a stream of unknown length is stored byte for byte, in parts sized from the hint", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		up := uploader(t, env)
		res, err := up.UploadStream(ctx, provider.StreamUploadRequest{
			Bucket: bucket, Key: "retail/prd/b1/database/db.dump", Body: stream(large), SizeHint: int64(len(large)),
		})
		if err != nil {
			t.Fatalf("upload: %v", err)
		}
		got, ok := env.ReadObject(t, bucket, "retail/prd/b1/database/db.dump")
		if !ok || sha256Hex(got) != sha256Hex(large) {
			t.Fatalf("the store holds %d bytes (present %v) with SHA-256 %s, want the %d uploaded, %s",
				len(got), ok, sha256Hex(got), len(large), sha256Hex(large))
		}
		wantPart := provider.StreamPartSize(int64(len(large)))
		wantParts := int((int64(len(large)) + wantPart - 1) / wantPart)
		if res.SizeBytes != int64(len(large)) || res.PartSizeBytes != wantPart || res.Parts != wantParts || wantParts < 3 {
			t.Errorf("result %+v, want %d bytes in %d parts of %d", *res, len(large), wantParts, wantPart)
		}
		listed := listing(t, env.Provider, bucket, "retail/")["retail/prd/b1/database/db.dump"]
		if res.ETag == "" || res.ETag != listed.ETag || listed.Size != int64(len(large)) {
			t.Errorf("result ETag %q; the store lists %d bytes with ETag %q", res.ETag, listed.Size, listed.ETag)
		}
	})

	t.Run("a stream shorter than a part is a single put, an empty stream an empty object", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		up := uploader(t, env)
		env.PutObject(t, bucket, "db.dump", []byte("an older dump"))
		for _, data := range [][]byte{pattern(100_000), {}} {
			// A hint larger than the body grows the part size; the body still fits in one.
			res, err := up.UploadStream(ctx, provider.StreamUploadRequest{
				Bucket: bucket, Key: "db.dump", Body: stream(data), SizeHint: 100 << 30, ContentType: "application/gzip",
			})
			if err != nil {
				t.Fatalf("upload of %d bytes: %v", len(data), err)
			}
			if res.SizeBytes != int64(len(data)) || res.Parts != 0 || res.PartSizeBytes != 0 {
				t.Errorf("result %+v, want %d bytes in a single put (no parts)", *res, len(data))
			}
			if got, ok := env.ReadObject(t, bucket, "db.dump"); !ok || !bytes.Equal(got, data) {
				t.Errorf("the store holds %d bytes (present %v), want the %d uploaded", len(got), ok, len(data))
			}
			if listed := listing(t, env.Provider, bucket, "")["db.dump"]; res.ETag == "" || res.ETag != listed.ETag {
				t.Errorf("result ETag %q, the store lists %q", res.ETag, listed.ETag)
			}
		}
	})

	t.Run("a body that fails leaves no object and no parts, and its error is returned", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		up := uploader(t, env)
		// Within the first part (no multipart upload yet), and after a part was sent.
		for _, n := range []int{1000, int(provider.MinStreamPartSize) + 2<<20} {
			key := fmt.Sprintf("db-%d.dump", n)
			_, err := up.UploadStream(ctx, provider.StreamUploadRequest{
				Bucket: bucket, Key: key, Body: breakingBody(large, n), SizeHint: int64(len(large)),
			})
			if !errors.Is(err, errBodyBroken) {
				t.Fatalf("body failing after %d bytes: error %v, want the body's error", n, err)
			}
			var pe *provider.Error
			if !errors.As(err, &pe) || provider.Describe(err) == "" {
				t.Errorf("error %v (%T) is not a described *provider.Error", err, err)
			}
			nothingLeft(t, env, bucket, key, nil)
		}
		if got := listing(t, env.Provider, bucket, ""); len(got) != 0 {
			t.Errorf("failed uploads left %d objects", len(got))
		}
	})

	t.Run("a cancelled context aborts the upload, stops reading the body and leaves the key as it was", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		up := uploader(t, env)
		previous := []byte("last night's dump")
		env.PutObject(t, bucket, "kept.dump", previous)
		// Before the upload starts, and mid-stream once a part was sent.
		for _, n := range []int{0, int(provider.MinStreamPartSize) + 2<<20} {
			for key, want := range map[string][]byte{"kept.dump": previous, fmt.Sprintf("new-%d.dump", n): nil} {
				uploadCtx, cancel := context.WithCancel(ctx)
				body := &cancellingBody{data: stream(large), n: n, cancel: cancel}
				if n == 0 {
					cancel()
				}
				_, err := up.UploadStream(uploadCtx, provider.StreamUploadRequest{
					Bucket: bucket, Key: key, Body: body, SizeHint: int64(len(large)),
				})
				cancel()
				if !errors.Is(err, context.Canceled) {
					t.Fatalf("cancelled after %d bytes: error %v, want one wrapping context.Canceled", n, err)
				}
				if body.read != n {
					// A dump's producer must see its reader go away, not be drained.
					t.Errorf("the upload read %d bytes of the body after it was cancelled", body.read-n)
				}
				nothingLeft(t, env, bucket, key, want)
			}
		}
	})

	t.Run("UploadStream to a missing bucket is NotFound, without a key InvalidInput", func(t *testing.T) {
		env := s.newEnv(t)
		up := uploader(t, env)
		missing := unique("no-such-bucket")
		_, err := up.UploadStream(ctx, provider.StreamUploadRequest{Bucket: missing, Key: "db.dump", Body: stream([]byte("x"))})
		wantError(t, err, provider.KindNotFound, missing)
		bucket := env.NewBucket(t, nil)
		_, err = up.UploadStream(ctx, provider.StreamUploadRequest{Bucket: bucket, Body: stream([]byte("x"))})
		wantError(t, err, provider.KindInvalidInput, "")
		_, err = up.UploadStream(ctx, provider.StreamUploadRequest{Bucket: bucket, Key: "db.dump"})
		wantError(t, err, provider.KindInvalidInput, "")
		if got := listing(t, env.Provider, bucket, ""); len(got) != 0 {
			t.Errorf("refused uploads wrote %d objects", len(got))
		}
	})
}
