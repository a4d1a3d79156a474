// Package contract is the behaviour every provider.Provider must show, as one suite of
// expectations that runs against each implementation: the AWS provider (on moto) and
// the in-memory fake the controller's unit tests use. The AWS provider is the
// reference; the suite keeps the fake from drifting away from it, so a controller test
// that passes on the fake means something on AWS.
//
// Each implementation's test package calls Run with a function building an Env: the
// provider under test plus the setup hooks the suite needs, which must not go through
// the provider itself (raw SDK clients on moto, the fake's test knobs).
package contract

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"maps"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Env is one provider under test and the independent hooks the suite sets it up and
// checks it with. Hooks report their own failures with t.Fatal.
type Env struct {
	// Provider is the implementation under test.
	Provider provider.Provider
	// NewBucket creates an empty bucket with a name unique to the test run and the given
	// tags (nil or empty: no tag set at all), and returns its name.
	NewBucket func(t *testing.T, tags map[string]string) string
	// PutObject writes an object as a single-part upload.
	PutObject func(t *testing.T, bucket, key string, data []byte)
	// ReadObject returns an object's bytes, or ok=false when it does not exist.
	ReadObject func(t *testing.T, bucket, key string) (data []byte, ok bool)
	// NewInstance creates a database instance (PostgreSQL, available for snapshots)
	// with the given tags (nil: none) and returns its identifier.
	NewInstance func(t *testing.T, tags map[string]string) string
	// NewConfiguredInstance creates an available PostgreSQL instance with the given tags
	// and a setting other than the default wherever the store allows one (class,
	// provisioned-IOPS storage, parameter, option and subnet groups that exist in the
	// store, security groups, port, Multi-AZ), and returns its identifier and those
	// settings (tags included): what DescribeDatabaseInstance must report.
	NewConfiguredInstance func(t *testing.T, tags map[string]string) (string, provider.DatabaseInstanceSettings)
	// SnapshotTimeout bounds the wait for a snapshot (or a restored instance) to become
	// Available; 0 means a minute.
	SnapshotTimeout time.Duration
	// EnableVersioning turns versioning on for bucket: from then on the store keeps
	// every version of an object and a delete marker for each delete.
	EnableVersioning func(t *testing.T, bucket string)
	// DeleteObject deletes key as an application does: in a versioned bucket it adds a
	// delete marker and keeps the versions.
	DeleteObject func(t *testing.T, bucket, key string)
	// ObjectVersions returns the ids of key's versions, newest first, delete markers
	// left out.
	ObjectVersions func(t *testing.T, bucket, key string) []string
	// DeleteObjectVersion removes one version of key for good.
	DeleteObjectVersion func(t *testing.T, bucket, key, versionID string)
	// LargeCopyETag is the ETag the store gives the copy of data made with parts of
	// partSize bytes; nil means S3's multipart ETag (the MD5 of the part MD5s, "-", the
	// number of parts). A store that copies large objects whole (GCS rewrite) says so.
	LargeCopyETag func(data []byte, partSize int) string
	// UnfinishedUploads returns the keys of bucket with an upload whose parts the store
	// still keeps (S3's ListMultipartUploads); nil when the store cannot list them
	// (the Uploads group then checks only that no object appears).
	UnfinishedUploads func(t *testing.T, bucket string) []string
}

// Run runs every expectation as a subtest; newEnv is called once per subtest, and
// once more to see what the store offers. A store without a database service
// (NewInstance nil) skips the Database and Instances groups, and one without object
// versions (EnableVersioning nil) the Versions group: each such skip is reported,
// and docs/ must say what covers the gap.
func Run(t *testing.T, newEnv func(t *testing.T) Env) {
	s := &suite{newEnv: newEnv}
	offers := newEnv(t)
	run := func(name string, offered bool, why string, group func(*testing.T)) {
		t.Run(name, func(t *testing.T) {
			if !offered {
				t.Skip(why)
			}
			group(t)
		})
	}
	run("Database", offers.NewInstance != nil, noDatabase, s.database)
	run("Instances", offers.NewInstance != nil && offers.NewConfiguredInstance != nil, noDatabase, s.instances)
	t.Run("Objects", s.objects)
	t.Run("Tags", s.tags)
	t.Run("Copy", s.copy)
	t.Run("CopyExisting", s.copyExisting)
	t.Run("CopyItems", s.copyItems)
	t.Run("Walks", s.walks)
	run("Versions", offers.EnableVersioning != nil, "the store keeps no object versions (Env.EnableVersioning is nil)", s.versions)
	t.Run("Uploads", s.uploads)
}

// noDatabase is why a store without a database service skips the database expectations.
const noDatabase = "the store has no database service (Env.NewInstance is nil)"

type suite struct {
	newEnv func(t *testing.T) Env
}

// seq numbers the suite's owners and missing-resource names within a test process.
var seq atomic.Int64

// unique is a name nothing in the store has (for "missing bucket/instance/snapshot"
// expectations); buckets and instances the suite creates are named by the Env.
func unique(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano()%1_000_000_000, seq.Add(1))
}

// owner returns a new owner. Its namespace and UIDs are the suite's own, so its
// snapshots never meet those of other tests sharing the emulator (a snapshot's name
// derives from its owner); the time part keeps repeated runs (-count) apart too.
func owner() provider.BackupOwner {
	n := seq.Add(1)
	run := time.Now().UnixNano() % 1_000_000
	return provider.BackupOwner{
		ProjectID:   "acme",
		Environment: "prd",
		Namespace:   "contract-suite",
		Name:        fmt.Sprintf("nightly-%d", n),
		UID:         fmt.Sprintf("c0a7c0a7-%06d-4000-8000-%012d", run, n),
	}
}

// wantError checks that err is a *provider.Error of kind whose Message is a sentence
// for people naming mention (when not empty) and carrying no request ids.
func wantError(t *testing.T, err error, kind provider.ErrorKind, mention string) {
	t.Helper()
	wantKind(t, err, kind)
	var pe *provider.Error
	errors.As(err, &pe)
	if pe.Message == "" {
		t.Errorf("error %v has no Message: status messages would show the raw error chain", err)
	}
	if mention != "" && !strings.Contains(pe.Message, mention) {
		t.Errorf("Message %q does not name %q", pe.Message, mention)
	}
}

// wantKind checks only the classification of err and that Describe gives people
// something without request ids.
func wantKind(t *testing.T, err error, kind provider.ErrorKind) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", kind)
	}
	var pe *provider.Error
	if !errors.As(err, &pe) {
		t.Fatalf("error %v (%T) is not a *provider.Error", err, err)
	}
	if pe.Kind != kind {
		t.Fatalf("error %v is %s, want %s", err, pe.Kind, kind)
	}
	switch kind {
	case provider.KindNotFound, provider.KindAccessDenied, provider.KindConflict, provider.KindInvalidInput,
		provider.KindNotSupported, provider.KindQuotaExceeded:
		if !provider.IsPermanent(err) {
			t.Errorf("error %v of kind %s is not permanent", err, kind)
		}
	}
	d := provider.Describe(err)
	if strings.TrimSpace(d) == "" || strings.Contains(strings.ToLower(d), "requestid") || strings.Contains(d, "request id") {
		t.Errorf("Describe(err) = %q: want a sentence without request ids", d)
	}
}

// ---- Database snapshots ----------------------------------------------------------

func (s *suite) database(t *testing.T) {
	ctx := context.Background()

	t.Run("CreateDatabaseSnapshot creates, then adopts with the same owner", func(t *testing.T) {
		env := s.newEnv(t)
		instance, o := env.NewInstance(t, nil), owner()
		first, err := env.Provider.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: o})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if first.SnapshotID == "" || first.SnapshotARN == "" || first.Adopted {
			t.Fatalf("first call = %+v, want a new snapshot with id and ARN", *first)
		}
		if first.Status != provider.SnapshotCreating && first.Status != provider.SnapshotAvailable {
			t.Errorf("first call status %s, want Creating or Available", first.Status)
		}
		again, err := env.Provider.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: o})
		if err != nil {
			t.Fatalf("second create with the same owner: %v", err)
		}
		if !again.Adopted || again.SnapshotID != first.SnapshotID || again.SnapshotARN != first.SnapshotARN {
			t.Fatalf("second call = %+v, want the snapshot %s adopted", *again, first.SnapshotID)
		}
	})

	t.Run("a recreated BackupRequest (new UID, same name) gets a snapshot of its own", func(t *testing.T) {
		// The name derives from namespace, name and the whole UID, so another owner's
		// UID never reaches the same name: the Conflict of "same name, other owner" is
		// unreachable through this interface and is not tested here.
		env := s.newEnv(t)
		instance, o := env.NewInstance(t, nil), owner()
		first, err := env.Provider.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: o})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		recreated := o
		recreated.UID = o.UID[:len(o.UID)-1] + "x" // shares everything but the UID's last character
		second, err := env.Provider.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: recreated})
		if err != nil {
			t.Fatalf("create for the recreated request: %v", err)
		}
		if second.Adopted || second.SnapshotID == first.SnapshotID {
			t.Fatalf("recreated request got %+v, want a new snapshot other than %s", *second, first.SnapshotID)
		}
		st, err := env.Provider.GetDatabaseSnapshotStatus(ctx, first.SnapshotID)
		if err != nil || st.Owner != o {
			t.Fatalf("the first snapshot is now %+v, %v; want it still owned by %+v", st, err, o)
		}
	})

	t.Run("the same owner on another instance is a Conflict", func(t *testing.T) {
		env := s.newEnv(t)
		instance, other, o := env.NewInstance(t, nil), env.NewInstance(t, nil), owner()
		created, err := env.Provider.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: o})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		_, err = env.Provider.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: other, Owner: o})
		wantError(t, err, provider.KindConflict, created.SnapshotID)
	})

	t.Run("CreateDatabaseSnapshot of a missing instance is NotFound", func(t *testing.T) {
		env := s.newEnv(t)
		missing := unique("no-such-db")
		_, err := env.Provider.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: missing, Owner: owner()})
		wantError(t, err, provider.KindNotFound, missing)
	})

	t.Run("CreateDatabaseSnapshot without instance or owner identity is InvalidInput", func(t *testing.T) {
		env := s.newEnv(t)
		instance := env.NewInstance(t, nil)
		for _, c := range []struct {
			name string
			req  provider.CreateSnapshotRequest
		}{
			{"no instance", provider.CreateSnapshotRequest{Owner: owner()}},
			{"no namespace", provider.CreateSnapshotRequest{InstanceID: instance, Owner: provider.BackupOwner{Name: "nightly", UID: "u"}}},
			{"no name", provider.CreateSnapshotRequest{InstanceID: instance, Owner: provider.BackupOwner{Namespace: "acme-prd", UID: "u"}}},
			{"no uid", provider.CreateSnapshotRequest{InstanceID: instance, Owner: provider.BackupOwner{Namespace: "acme-prd", Name: "nightly"}}},
		} {
			t.Run(c.name, func(t *testing.T) {
				_, err := env.Provider.CreateDatabaseSnapshot(ctx, c.req)
				wantError(t, err, provider.KindInvalidInput, "")
			})
		}
	})

	t.Run("GetDatabaseSnapshotStatus describes the snapshot and its owner", func(t *testing.T) {
		env := s.newEnv(t)
		instance, o := env.NewInstance(t, nil), owner()
		created, err := env.Provider.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: o})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		timeout := env.SnapshotTimeout
		if timeout == 0 {
			timeout = time.Minute
		}
		deadline := time.Now().Add(timeout)
		for {
			st, err := env.Provider.GetDatabaseSnapshotStatus(ctx, created.SnapshotID)
			if err != nil {
				t.Fatalf("status: %v", err)
			}
			if st.SnapshotID != created.SnapshotID || st.SnapshotARN != created.SnapshotARN || st.InstanceID != instance {
				t.Fatalf("status %+v does not describe snapshot %s (%s) of %s", *st, created.SnapshotID, created.SnapshotARN, instance)
			}
			if st.Owner != o {
				t.Fatalf("owner read back as %+v, want %+v", st.Owner, o)
			}
			if st.CreatedAt == nil || st.CreatedAt.IsZero() || st.Engine == "" || st.RawStatus == "" {
				t.Fatalf("status %+v lacks the creation time, engine or raw status", *st)
			}
			if st.State == provider.SnapshotAvailable {
				if st.SizeBytes <= 0 {
					t.Errorf("available snapshot has size %d", st.SizeBytes)
				}
				return
			}
			if st.State != provider.SnapshotCreating {
				t.Fatalf("state %s (raw %q), want Creating until Available", st.State, st.RawStatus)
			}
			if time.Now().After(deadline) {
				t.Fatalf("snapshot still %s after %v", st.State, timeout)
			}
			time.Sleep(100 * time.Millisecond)
		}
	})

	t.Run("GetDatabaseSnapshotStatus of a missing snapshot is a permanent NotFound", func(t *testing.T) {
		env := s.newEnv(t)
		missing := unique("lc2-contract-missing")
		_, err := env.Provider.GetDatabaseSnapshotStatus(ctx, missing)
		wantError(t, err, provider.KindNotFound, missing)
		_, err = env.Provider.GetDatabaseSnapshotStatus(ctx, "")
		wantError(t, err, provider.KindInvalidInput, "")
	})

	t.Run("DeleteDatabaseSnapshot deletes, and a missing snapshot counts as deleted", func(t *testing.T) {
		env := s.newEnv(t)
		if err := env.Provider.DeleteDatabaseSnapshot(ctx, unique("lc2-contract-never-existed")); err != nil {
			t.Fatalf("delete of a missing snapshot: %v, want success", err)
		}
		instance := env.NewInstance(t, nil)
		created, err := env.Provider.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: instance, Owner: owner()})
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		waitAvailable(t, env, created.SnapshotID)
		if err := env.Provider.DeleteDatabaseSnapshot(ctx, created.SnapshotID); err != nil {
			t.Fatalf("delete: %v", err)
		}
		if st, err := env.Provider.GetDatabaseSnapshotStatus(ctx, created.SnapshotID); err == nil && st.State != provider.SnapshotDeleting {
			t.Fatalf("after delete the snapshot is %s, want it gone or Deleting", st.State)
		} else if err != nil {
			wantError(t, err, provider.KindNotFound, created.SnapshotID)
		}
		if err := env.Provider.DeleteDatabaseSnapshot(ctx, created.SnapshotID); err != nil {
			t.Fatalf("second delete: %v, want success", err)
		}
		wantError(t, env.Provider.DeleteDatabaseSnapshot(ctx, ""), provider.KindInvalidInput, "")
	})
}

func waitAvailable(t *testing.T, env Env, id string) {
	t.Helper()
	timeout := env.SnapshotTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	for {
		st, err := env.Provider.GetDatabaseSnapshotStatus(context.Background(), id)
		if err != nil {
			t.Fatalf("status of %s: %v", id, err)
		}
		if st.State == provider.SnapshotAvailable {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("snapshot %s still %s after %v", id, st.State, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// ---- Small objects ---------------------------------------------------------------

func md5Hex(data []byte) string {
	sum := md5.Sum(data)
	return hex.EncodeToString(sum[:])
}

func download(t *testing.T, p provider.Provider, bucket, key string) []byte {
	t.Helper()
	rc, err := p.DownloadObject(context.Background(), bucket, key)
	if err != nil {
		t.Fatalf("download %s/%s: %v", bucket, key, err)
	}
	data, err := io.ReadAll(rc)
	if cerr := rc.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		t.Fatalf("read %s/%s: %v", bucket, key, err)
	}
	return data
}

func keysOf(objects []provider.ObjectMetadata) []string {
	keys := make([]string, len(objects))
	for i, o := range objects {
		keys[i] = o.Key
	}
	return keys
}

// listing is ListObjects as a map key → metadata.
func listing(t *testing.T, p provider.Provider, bucket, prefix string) map[string]provider.ObjectMetadata {
	t.Helper()
	listed, err := p.ListObjects(context.Background(), bucket, prefix)
	if err != nil {
		t.Fatalf("list %s/%s: %v", bucket, prefix, err)
	}
	m := make(map[string]provider.ObjectMetadata, len(listed))
	for _, o := range listed {
		m[o.Key] = o
	}
	return m
}

func shuffled(m map[string][]byte) []string {
	keys := slices.Collect(maps.Keys(m))
	rand.Shuffle(len(keys), func(i, j int) { keys[i], keys[j] = keys[j], keys[i] })
	return keys
}

func (s *suite) objects(t *testing.T) {
	ctx := context.Background()

	t.Run("UploadObject and DownloadObject round-trip", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		manifest := []byte(`{"version":"1.1","objects":3}`)
		if err := env.Provider.UploadObject(ctx, bucket, "retail/prd/b1/manifest.json", manifest); err != nil {
			t.Fatalf("upload: %v", err)
		}
		if got := download(t, env.Provider, bucket, "retail/prd/b1/manifest.json"); !bytes.Equal(got, manifest) {
			t.Fatalf("downloaded %q, want %q", got, manifest)
		}
		if got, ok := env.ReadObject(t, bucket, "retail/prd/b1/manifest.json"); !ok || !bytes.Equal(got, manifest) {
			t.Fatalf("the store holds %q (present %v), want %q", got, ok, manifest)
		}
		// The provider keeps no reference to the caller's buffer.
		manifest[0] = 'X'
		if got := download(t, env.Provider, bucket, "retail/prd/b1/manifest.json"); got[0] != '{' {
			t.Fatalf("changing the uploaded buffer changed the object: %q", got)
		}
		// An upload replaces the object; an empty object is an object.
		if err := env.Provider.UploadObject(ctx, bucket, "retail/prd/b1/manifest.json", []byte("v2")); err != nil {
			t.Fatalf("overwrite: %v", err)
		}
		if got := download(t, env.Provider, bucket, "retail/prd/b1/manifest.json"); string(got) != "v2" {
			t.Fatalf("after overwrite downloaded %q, want v2", got)
		}
		if err := env.Provider.UploadObject(ctx, bucket, "retail/prd/b1/claim", nil); err != nil {
			t.Fatalf("upload of an empty object: %v", err)
		}
		if got := download(t, env.Provider, bucket, "retail/prd/b1/claim"); len(got) != 0 {
			t.Fatalf("empty object downloaded as %q", got)
		}
	})

	t.Run("DownloadObject of a missing key or bucket is a permanent NotFound", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		env.PutObject(t, bucket, "retail/manifest.json", []byte("{}"))
		_, err := env.Provider.DownloadObject(ctx, bucket, "retail/manifest.json.missing")
		wantError(t, err, provider.KindNotFound, "retail/manifest.json.missing")
		missing := unique("no-such-bucket")
		_, err = env.Provider.DownloadObject(ctx, missing, "retail/manifest.json")
		wantError(t, err, provider.KindNotFound, missing)
	})

	t.Run("UploadObject to a missing bucket is NotFound, without a key InvalidInput", func(t *testing.T) {
		env := s.newEnv(t)
		missing := unique("no-such-bucket")
		wantError(t, env.Provider.UploadObject(ctx, missing, "k", []byte("x")), provider.KindNotFound, missing)
		bucket := env.NewBucket(t, nil)
		wantError(t, env.Provider.UploadObject(ctx, bucket, "", []byte("x")), provider.KindInvalidInput, "")
	})

	t.Run("ListObjects lists every object under the prefix in key order with unquoted ETags", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		objects := map[string][]byte{
			"retail/b1/data/10/a.pdf":      []byte("alpha"),
			"retail/b1/data/10/a b+c.pdf":  []byte("spaces and plus"),
			"retail/b1/data/10/a-b.pdf":    []byte("hyphen"),
			"retail/b1/data/10/a/b.pdf":    []byte("deeper"),
			"retail/b1/data/2/z.pdf":       bytes.Repeat([]byte("z"), 1000),
			"retail/b1/data/\u00e9t\u00e9": []byte("utf-8 sorts by bytes"),
			"retail/b1/manifest.json":      []byte("{}"),
			"retail/b10/data/x":            []byte("shares the prefix text retail/b1"),
			"other/b1/data/y":              []byte("outside"),
		}
		for _, k := range shuffled(objects) {
			env.PutObject(t, bucket, k, objects[k])
		}
		listed, err := env.Provider.ListObjects(ctx, bucket, "retail/b1/")
		if err != nil {
			t.Fatalf("list: %v", err)
		}
		var want []string
		for k := range objects {
			if strings.HasPrefix(k, "retail/b1/") {
				want = append(want, k)
			}
		}
		sort.Strings(want)
		if got := keysOf(listed); !slices.Equal(got, want) {
			t.Fatalf("listed %q,\nwant %q", got, want)
		}
		for _, o := range listed {
			data := objects[o.Key]
			if o.Size != int64(len(data)) || o.ETag != md5Hex(data) {
				t.Errorf("%s: size %d ETag %q, want %d and %q (the MD5 of a single-part object, unquoted)",
					o.Key, o.Size, o.ETag, len(data), md5Hex(data))
			}
			if o.LastModified.IsZero() {
				t.Errorf("%s: no LastModified", o.Key)
			}
		}
		all, err := env.Provider.ListObjects(ctx, bucket, "")
		if err != nil || len(all) != len(objects) {
			t.Fatalf("listing the whole bucket: %d objects, %v; want %d", len(all), err, len(objects))
		}
		none, err := env.Provider.ListObjects(ctx, bucket, "retail/b2/")
		if err != nil || len(none) != 0 {
			t.Fatalf("listing an empty prefix: %v, %v; want nothing", keysOf(none), err)
		}
		missing := unique("no-such-bucket")
		_, err = env.Provider.ListObjects(ctx, missing, "")
		wantError(t, err, provider.KindNotFound, missing)
	})

	t.Run("ListObjectsUpTo returns the first limit keys", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		objects := map[string][]byte{}
		for i := range 7 {
			objects[fmt.Sprintf("retail/b1/%02d", i)] = []byte{byte(i)}
		}
		objects["retail/b0/before"] = []byte("outside the prefix")
		for _, k := range shuffled(objects) {
			env.PutObject(t, bucket, k, objects[k])
		}
		for _, limit := range []int{1, 3, 7, 10, 1000} {
			got, err := env.Provider.ListObjectsUpTo(ctx, bucket, "retail/b1/", limit)
			if err != nil {
				t.Fatalf("ListObjectsUpTo(%d): %v", limit, err)
			}
			var want []string
			for i := range min(limit, 7) {
				want = append(want, fmt.Sprintf("retail/b1/%02d", i))
			}
			if !slices.Equal(keysOf(got), want) {
				t.Fatalf("ListObjectsUpTo(%d) = %q, want %q", limit, keysOf(got), want)
			}
			for _, o := range got {
				if o.Size != 1 || o.ETag != md5Hex(objects[o.Key]) {
					t.Errorf("%s: size %d ETag %q, want 1 and %q", o.Key, o.Size, o.ETag, md5Hex(objects[o.Key]))
				}
			}
		}
		empty, err := env.Provider.ListObjectsUpTo(ctx, bucket, "retail/b2/", 1)
		if err != nil || len(empty) != 0 {
			t.Fatalf("ListObjectsUpTo of an empty prefix = %q, %v; want nothing", keysOf(empty), err)
		}
		missing := unique("no-such-bucket")
		_, err = env.Provider.ListObjectsUpTo(ctx, missing, "", 1)
		wantError(t, err, provider.KindNotFound, missing)
	})

	t.Run("DeleteObjects deletes exactly the named keys", func(t *testing.T) {
		env := s.newEnv(t)
		bucket := env.NewBucket(t, nil)
		for _, k := range []string{"retail/b1/data/a", "retail/b1/data/a2", "retail/b1/data/a/b", "retail/b1/data/c", "retail/b1/manifest.json"} {
			env.PutObject(t, bucket, k, []byte(k))
		}
		n, err := env.Provider.DeleteObjects(ctx, bucket, []string{"retail/b1/data/a", "retail/b1/data/c", "retail/b1/data/never-existed"})
		if err != nil || n != 3 {
			t.Fatalf("DeleteObjects = %d, %v; want 3 (a missing key counts as deleted)", n, err)
		}
		want := []string{"retail/b1/data/a/b", "retail/b1/data/a2", "retail/b1/manifest.json"}
		if got := slices.Sorted(maps.Keys(listing(t, env.Provider, bucket, ""))); !slices.Equal(got, want) {
			t.Fatalf("left %q, want %q: neighbours sharing the prefix text stay", got, want)
		}
		for _, k := range []string{"retail/b1/data/a", "retail/b1/data/c"} {
			if _, ok := env.ReadObject(t, bucket, k); ok {
				t.Errorf("%s is still in the store", k)
			}
		}

		n, err = env.Provider.DeleteObjects(ctx, bucket, []string{"retail/b1/manifest.json", ""})
		wantError(t, err, provider.KindInvalidInput, "")
		if n != 0 {
			t.Errorf("DeleteObjects with an empty key reported %d deleted", n)
		}
		if _, ok := env.ReadObject(t, bucket, "retail/b1/manifest.json"); !ok {
			t.Errorf("a request with an empty key deleted the other keys of its batch")
		}

		if n, err := env.Provider.DeleteObjects(ctx, bucket, nil); err != nil || n != 0 {
			t.Fatalf("DeleteObjects of no keys = %d, %v; want 0, nil", n, err)
		}
		missing := unique("no-such-bucket")
		_, err = env.Provider.DeleteObjects(ctx, missing, []string{"k"})
		wantError(t, err, provider.KindNotFound, missing)
		_, err = env.Provider.DeleteObjects(ctx, "", []string{"k"})
		wantError(t, err, provider.KindInvalidInput, "")
	})
}

// ---- Ownership tags --------------------------------------------------------------

func (s *suite) tags(t *testing.T) {
	ctx := context.Background()
	ownership := map[string]string{"backup.liferay.cloud/project": "retail", "team": "commerce"}

	t.Run("BucketTags of a tagged, an untagged and a missing bucket", func(t *testing.T) {
		env := s.newEnv(t)
		tagged := env.NewBucket(t, ownership)
		got, err := env.Provider.BucketTags(ctx, tagged)
		if err != nil || !maps.Equal(got, ownership) {
			t.Fatalf("BucketTags(tagged) = %v, %v; want %v", got, err, ownership)
		}
		got["team"] = "changed by the caller"
		if again, err := env.Provider.BucketTags(ctx, tagged); err != nil || !maps.Equal(again, ownership) {
			t.Fatalf("after changing the returned map BucketTags = %v, %v; want %v", again, err, ownership)
		}
		untagged := env.NewBucket(t, nil)
		got, err = env.Provider.BucketTags(ctx, untagged)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("BucketTags(untagged) = %#v, %v; want an empty, non-nil map", got, err)
		}
		missing := unique("no-such-bucket")
		_, err = env.Provider.BucketTags(ctx, missing)
		wantError(t, err, provider.KindNotFound, missing)
		_, err = env.Provider.BucketTags(ctx, "")
		wantError(t, err, provider.KindInvalidInput, "")
	})

	t.Run("DatabaseInstanceTags of a tagged, an untagged and a missing instance", func(t *testing.T) {
		env := s.newEnv(t)
		if env.NewInstance == nil {
			t.Skip(noDatabase)
		}
		tagged := env.NewInstance(t, ownership)
		got, err := env.Provider.DatabaseInstanceTags(ctx, tagged)
		if err != nil || !maps.Equal(got, ownership) {
			t.Fatalf("DatabaseInstanceTags(tagged) = %v, %v; want %v", got, err, ownership)
		}
		got["team"] = "changed by the caller"
		if again, err := env.Provider.DatabaseInstanceTags(ctx, tagged); err != nil || !maps.Equal(again, ownership) {
			t.Fatalf("after changing the returned map DatabaseInstanceTags = %v, %v; want %v", again, err, ownership)
		}
		untagged := env.NewInstance(t, nil)
		got, err = env.Provider.DatabaseInstanceTags(ctx, untagged)
		if err != nil || got == nil || len(got) != 0 {
			t.Fatalf("DatabaseInstanceTags(untagged) = %#v, %v; want an empty, non-nil map", got, err)
		}
		missing := unique("no-such-db")
		_, err = env.Provider.DatabaseInstanceTags(ctx, missing)
		wantError(t, err, provider.KindNotFound, missing)
		_, err = env.Provider.DatabaseInstanceTags(ctx, "")
		wantError(t, err, provider.KindInvalidInput, "")
	})
}

// ---- Object-storage copies -------------------------------------------------------

// storedLog records Stored calls, safely from the copy's goroutines.
type storedLog struct {
	mu    sync.Mutex
	calls []provider.StoredObject
}

func (l *storedLog) record(o provider.StoredObject) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = append(l.calls, o)
}

// byKey returns the calls by destination key and fails on a key reported twice.
func (l *storedLog) byKey(t *testing.T) map[string]provider.StoredObject {
	t.Helper()
	l.mu.Lock()
	defer l.mu.Unlock()
	m := map[string]provider.StoredObject{}
	for _, o := range l.calls {
		if _, dup := m[o.Key]; dup {
			t.Errorf("Stored called twice for %s", o.Key)
		}
		m[o.Key] = o
	}
	return m
}

// progressLog records Progress calls.
type progressLog struct {
	mu      sync.Mutex
	reports []provider.CopyProgress
}

func (l *progressLog) record(p provider.CopyProgress) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reports = append(l.reports, p)
}

// liferaySource is a source bucket laid out like Liferay's store: user documents
// (kept), regenerable system-repository files, temporary files and a cache folder a
// user excludes, and neighbours outside the source prefix.
type liferaySource struct {
	bucket    string
	prefix    string
	kept      map[string][]byte // relative key → content: what a backup must hold
	generated map[string][]byte // relative keys of GeneratedFilePatterns
	userExcl  map[string][]byte // relative keys matched by userPatterns
}

var userPatterns = []string{"**/*.tmp", "cache/"}

func newLiferaySource(t *testing.T, env Env) *liferaySource {
	t.Helper()
	s := &liferaySource{
		bucket: env.NewBucket(t, nil), prefix: "document_library/",
		kept: map[string][]byte{}, generated: map[string][]byte{}, userExcl: map[string][]byte{},
	}
	for i := range 12 {
		rel := fmt.Sprintf("20097/%d/%d/1.%d", 20125+i%3, 40000+i, i%4)
		s.kept[rel] = []byte(strings.Repeat(rel+";", 1+i*7)) // distinct contents and sizes
	}
	s.kept["20097/20125/40100/a b+c (1).pdf"] = []byte("a key that needs encoding in x-amz-copy-source")
	s.kept["20097/20125/40101/r\u00e9sum\u00e9.pdf"] = []byte("non-ASCII key")
	s.kept["20097/20125/40102/empty"] = []byte{}
	s.kept["20097/0/not-generated/1.0"] = []byte("system repository, but not a generated folder")
	s.kept["20097/20125/tmp/1.0"] = []byte("a folder named tmp is not a .tmp file")
	s.kept["20097/cache/1.0"] = []byte("cache/ matches only at the top of the relative key")
	for i := range 3 {
		s.generated[fmt.Sprintf("20097/0/document_thumbnail/20125/%d/1.0.jpg", 40000+i)] = []byte("thumbnail")
		s.generated[fmt.Sprintf("20097/0/document_preview/20125/%d/1.0/%d.png", 40000+i, i+1)] = []byte("preview")
		s.generated[fmt.Sprintf("20097/0/adaptive/b7c6e1f0/20121/20125/%d/1.0", 40000+i)] = []byte("adaptive media")
	}
	s.userExcl["20097/20125/upload-1.tmp"] = []byte("temporary")
	s.userExcl["upload-2.tmp"] = []byte("temporary at the top")
	s.userExcl["cache/x/y"] = []byte("cache")
	all := map[string][]byte{}
	for _, group := range []map[string][]byte{s.kept, s.generated, s.userExcl} {
		for rel, data := range group {
			all[s.prefix+rel] = data
		}
	}
	all["document_library.bak/1.0"] = []byte("shares the prefix text, outside the prefix")
	all["other/20097/1.0"] = []byte("outside the prefix")
	for _, k := range shuffled(all) {
		env.PutObject(t, s.bucket, k, all[k])
	}
	return s
}

func (s *liferaySource) request(dstBucket, dstPrefix string) provider.ObjectStorageCopyRequest {
	return provider.ObjectStorageCopyRequest{
		SourceBucket: s.bucket, SourcePrefix: s.prefix,
		DestinationBucket: dstBucket, DestinationPrefix: dstPrefix,
		ExcludePatterns: userPatterns, ExcludeGeneratedFiles: true,
		Concurrency: 4,
	}
}

func sumSizes(m map[string][]byte) int64 {
	var n int64
	for _, d := range m {
		n += int64(len(d))
	}
	return n
}

// checkCopied checks the destination holds exactly want (relative key → content)
// under dstPrefix, byte-equal, and that Stored reported each object once, with the
// destination's ETag as ListObjects reports it.
func checkCopied(t *testing.T, env Env, src *liferaySource, dst, dstPrefix string, want map[string][]byte, stored *storedLog, copied bool) {
	t.Helper()
	listed := listing(t, env.Provider, dst, dstPrefix)
	var wantKeys []string
	for rel := range want {
		wantKeys = append(wantKeys, dstPrefix+rel)
	}
	sort.Strings(wantKeys)
	if got := slices.Sorted(maps.Keys(listed)); !slices.Equal(got, wantKeys) {
		t.Fatalf("destination holds %q,\nwant %q", got, wantKeys)
	}
	sourceListing := listing(t, env.Provider, src.bucket, src.prefix)
	calls := stored.byKey(t)
	if len(calls) != len(want) {
		t.Errorf("Stored called for %d objects, want %d", len(calls), len(want))
	}
	for rel, data := range want {
		key := dstPrefix + rel
		if got, ok := env.ReadObject(t, dst, key); !ok || !bytes.Equal(got, data) {
			t.Errorf("%s holds %d bytes (present %v), want the source's %d", key, len(got), ok, len(data))
		}
		o, ok := calls[key]
		if !ok {
			t.Errorf("Stored not called for %s", key)
			continue
		}
		wantStoredObject(t, o, provider.StoredObject{
			SourceKey: src.prefix + rel, Key: key, Size: int64(len(data)),
			ETag: listed[key].ETag, SourceETag: sourceListing[src.prefix+rel].ETag, Copied: copied,
		})
	}
}

// wantStoredObject checks a Stored call reported want, whatever its Checksum.
func wantStoredObject(t *testing.T, got, want provider.StoredObject) {
	t.Helper()
	got.Checksum = "" // optional: only some stores report one
	if got != want {
		t.Errorf("Stored(%+v),\nwant   %+v", got, want)
	}
}

func (s *suite) copy(t *testing.T) {
	ctx := context.Background()

	t.Run("copies every selected object, honours the exclusions, then skips them all on a re-run", func(t *testing.T) {
		env := s.newEnv(t)
		src := newLiferaySource(t, env)
		dst := env.NewBucket(t, nil)
		req := src.request(dst, "retail/prd/b1/data/")
		var stored storedLog
		var progress progressLog
		req.Stored, req.Progress = stored.record, progress.record

		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		n, bytesTotal := int64(len(src.kept)), sumSizes(src.kept)
		excluded := int64(len(src.generated) + len(src.userExcl))
		want := copyCounts{Total: n, Copied: n, Excluded: excluded, BytesCopied: bytesTotal, BytesTotal: bytesTotal}
		if got := countsOf(res); got != want {
			t.Fatalf("result %+v,\nwant   %+v", got, want)
		}
		checkCopied(t, env, src, dst, req.DestinationPrefix, src.kept, &stored, true)
		checkProgress(t, &progress, res)

		t.Run("a second identical run skips every object", func(t *testing.T) {
			var again storedLog
			req.Stored, req.Progress = again.record, nil
			res, err := env.Provider.CopyObjectStorage(ctx, req)
			if err != nil {
				t.Fatalf("re-run: %v", err)
			}
			want := copyCounts{Total: n, Skipped: n, Excluded: excluded, BytesTotal: bytesTotal}
			if got := countsOf(res); got != want {
				t.Fatalf("re-run result %+v,\nwant   %+v", got, want)
			}
			checkCopied(t, env, src, dst, req.DestinationPrefix, src.kept, &again, false)
		})
	})

	t.Run("without exclusions the generated files are copied too", func(t *testing.T) {
		env := s.newEnv(t)
		src := newLiferaySource(t, env)
		dst := env.NewBucket(t, nil)
		req := src.request(dst, "b/")
		req.ExcludeGeneratedFiles, req.ExcludePatterns = false, nil
		var stored storedLog
		req.Stored = stored.record
		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		all := maps.Clone(src.kept)
		maps.Copy(all, src.generated)
		maps.Copy(all, src.userExcl)
		if res.ObjectsTotal != int64(len(all)) || res.ObjectsCopied != int64(len(all)) || res.ObjectsExcluded != 0 || res.BytesTotal != sumSizes(all) {
			t.Fatalf("result %+v, want all %d objects copied and none excluded", *res, len(all))
		}
		checkCopied(t, env, src, dst, "b/", all, &stored, true)
	})

	t.Run("only the generated files, with ExcludeGeneratedFiles alone", func(t *testing.T) {
		env := s.newEnv(t)
		src := newLiferaySource(t, env)
		dst := env.NewBucket(t, nil)
		req := src.request(dst, "b/")
		req.ExcludePatterns = nil
		var stored storedLog
		req.Stored = stored.record
		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		kept := maps.Clone(src.kept)
		maps.Copy(kept, src.userExcl)
		if res.ObjectsCopied != int64(len(kept)) || res.ObjectsExcluded != int64(len(src.generated)) {
			t.Fatalf("result %+v, want %d copied and the %d generated files excluded", *res, len(kept), len(src.generated))
		}
		checkCopied(t, env, src, dst, "b/", kept, &stored, true)
	})

	t.Run("a resumed copy skips what is there and replaces what differs", func(t *testing.T) {
		env := s.newEnv(t)
		src := newLiferaySource(t, env)
		dst := env.NewBucket(t, nil)
		req := src.request(dst, "b/")
		var rels []string
		for _, rel := range slices.Sorted(maps.Keys(src.kept)) {
			if len(src.kept[rel]) > 0 {
				rels = append(rels, rel)
			}
		}
		same, sameSize, otherSize := rels[0], rels[1], rels[2]
		env.PutObject(t, dst, "b/"+same, src.kept[same])
		stale := bytes.Clone(src.kept[sameSize])
		stale[0] ^= 0xff // same size, other content: another ETag
		env.PutObject(t, dst, "b/"+sameSize, stale)
		env.PutObject(t, dst, "b/"+otherSize, []byte("an older, shorter version"))
		env.PutObject(t, dst, "b/not-in-the-source", []byte("left alone"))
		var stored storedLog
		req.Stored = stored.record
		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		n := int64(len(src.kept))
		if res.ObjectsSkipped != 1 || res.ObjectsCopied != n-1 || res.ObjectsTotal != n ||
			res.BytesCopied != sumSizes(src.kept)-int64(len(src.kept[same])) {
			t.Fatalf("result %+v, want 1 skipped and %d copied", *res, n-1)
		}
		calls := stored.byKey(t)
		if calls["b/"+same].Copied || !calls["b/"+sameSize].Copied || !calls["b/"+otherSize].Copied {
			t.Errorf("Stored reports copied=%v/%v/%v for the present, stale and shorter objects, want false/true/true",
				calls["b/"+same].Copied, calls["b/"+sameSize].Copied, calls["b/"+otherSize].Copied)
		}
		for _, rel := range []string{sameSize, otherSize} {
			if got, _ := env.ReadObject(t, dst, "b/"+rel); !bytes.Equal(got, src.kept[rel]) {
				t.Errorf("b/%s was not replaced by the source's version", rel)
			}
		}
		if got, ok := env.ReadObject(t, dst, "b/not-in-the-source"); !ok || string(got) != "left alone" {
			t.Errorf("an object the source lacks was touched: %q, present %v", got, ok)
		}
	})

	t.Run("a large object is copied in parts, with the ETag the store gives it, and recognised on a re-run", func(t *testing.T) {
		env := s.newEnv(t)
		src := env.NewBucket(t, nil)
		dst := env.NewBucket(t, nil)
		large := make([]byte, 11<<20+4321) // three 5 MiB parts, the last one short
		for i := range large {
			large[i] = byte(i*7 + i>>11)
		}
		env.PutObject(t, src, "dl/video.mp4", large)
		env.PutObject(t, src, "dl/small.txt", []byte("small"))
		req := provider.ObjectStorageCopyRequest{
			SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/",
			MultipartThreshold: 6 << 20, PartSize: 5 << 20, FileListLimit: 10,
		}
		var stored storedLog
		req.Stored = stored.record
		res, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("copy: %v", err)
		}
		if res.ObjectsCopied != 2 || res.BytesCopied != int64(len(large))+5 {
			t.Fatalf("result %+v, want both objects and all bytes copied", *res)
		}
		if got, ok := env.ReadObject(t, dst, "b/video.mp4"); !ok || !bytes.Equal(got, large) {
			t.Fatalf("the multipart copy differs from the source (%d bytes, want %d)", len(got), len(large))
		}
		listed := listing(t, env.Provider, dst, "b/")
		etag := listed["b/video.mp4"].ETag
		largeCopyETag := multipartETag
		if env.LargeCopyETag != nil {
			largeCopyETag = env.LargeCopyETag
		}
		if want := largeCopyETag(large, 5<<20); etag != want {
			t.Errorf("the copy in parts has ETag %q, want the store's %q", etag, want)
		}
		if o := stored.byKey(t)["b/video.mp4"]; o.ETag != etag || o.SourceETag != md5Hex(large) || !o.Copied {
			t.Errorf("Stored(%+v), want ETag %q (the destination's), SourceETag %q", o, etag, md5Hex(large))
		}
		for _, f := range res.Files {
			if f.ETag != listed[f.Key].ETag {
				t.Errorf("Files lists %s with ETag %q, the destination has %q", f.Key, f.ETag, listed[f.Key].ETag)
			}
		}

		var again storedLog
		req.Stored = again.record
		rerun, err := env.Provider.CopyObjectStorage(ctx, req)
		if err != nil {
			t.Fatalf("re-run: %v", err)
		}
		if rerun.ObjectsSkipped != 2 || rerun.ObjectsCopied != 0 || rerun.BytesCopied != 0 {
			t.Fatalf("re-run %+v, want both objects recognised as copied", *rerun)
		}
		if o := again.byKey(t)["b/video.mp4"]; o.ETag != etag || o.Copied {
			t.Errorf("re-run Stored(%+v), want ETag %q and Copied false", o, etag)
		}
	})

	t.Run("Files lists the first FileListLimit selected objects with destination keys", func(t *testing.T) {
		env := s.newEnv(t)
		src := newLiferaySource(t, env)
		dst := env.NewBucket(t, nil)
		rels := slices.Sorted(maps.Keys(src.kept))
		for _, limit := range []int{0, 5, len(rels) + 10} {
			req := src.request(dst, fmt.Sprintf("limit-%d/", limit))
			req.FileListLimit = limit
			res, err := env.Provider.CopyObjectStorage(ctx, req)
			if err != nil {
				t.Fatalf("copy: %v", err)
			}
			listed := listing(t, env.Provider, dst, req.DestinationPrefix)
			var want []string
			for _, rel := range rels[:min(limit, len(rels))] {
				want = append(want, req.DestinationPrefix+rel)
			}
			if got := keysOf(res.Files); !slices.Equal(got, want) {
				t.Fatalf("FileListLimit %d: Files %q,\nwant %q", limit, got, want)
			}
			for _, f := range res.Files {
				if l := listed[f.Key]; f.Size != l.Size || f.ETag != l.ETag {
					t.Errorf("Files lists %s as %d bytes, ETag %q; the destination has %d, %q", f.Key, f.Size, f.ETag, l.Size, l.ETag)
				}
			}
		}
	})

	t.Run("Stored and Progress may call back into the provider", func(t *testing.T) {
		// The controller's Stored callback writes inventory parts through the same
		// provider while the copy runs.
		env := s.newEnv(t)
		src := newLiferaySource(t, env)
		dst := env.NewBucket(t, nil)
		req := src.request(dst, "b/data/")
		var mu sync.Mutex
		written := 0
		req.Stored = func(o provider.StoredObject) {
			mu.Lock()
			defer mu.Unlock()
			written++
			key := fmt.Sprintf("b/inventory/part-%04d", written)
			if err := env.Provider.UploadObject(context.Background(), dst, key, []byte(o.Key)); err != nil {
				t.Errorf("upload from Stored: %v", err)
			}
		}
		req.Progress = func(provider.CopyProgress) {
			if _, err := env.Provider.ListObjectsUpTo(context.Background(), dst, "b/inventory/", 1); err != nil {
				t.Errorf("list from Progress: %v", err)
			}
		}
		done := make(chan error, 1)
		go func() {
			_, err := env.Provider.CopyObjectStorage(ctx, req)
			done <- err
		}()
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("copy: %v", err)
			}
		case <-time.After(time.Minute):
			t.Fatal("the copy did not finish within a minute: calling the provider from Stored or Progress deadlocks")
		}
		if got := len(listing(t, env.Provider, dst, "b/inventory/")); got != len(src.kept) {
			t.Fatalf("%d inventory parts written from Stored, want %d", got, len(src.kept))
		}
	})

	t.Run("a missing source or destination bucket is NotFound", func(t *testing.T) {
		env := s.newEnv(t)
		src := env.NewBucket(t, nil)
		env.PutObject(t, src, "dl/1.0", []byte("x"))
		dst := env.NewBucket(t, nil)
		missing := unique("no-such-bucket")
		_, err := env.Provider.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{SourceBucket: missing, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/"})
		wantError(t, err, provider.KindNotFound, missing)
		_, err = env.Provider.CopyObjectStorage(ctx, provider.ObjectStorageCopyRequest{SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: missing, DestinationPrefix: "b/"})
		wantError(t, err, provider.KindNotFound, missing)
	})

	t.Run("requests that can never succeed are InvalidInput", func(t *testing.T) {
		env := s.newEnv(t)
		src := env.NewBucket(t, nil)
		env.PutObject(t, src, "dl/1.0", []byte("x"))
		dst := env.NewBucket(t, nil)
		base := provider.ObjectStorageCopyRequest{SourceBucket: src, SourcePrefix: "dl/", DestinationBucket: dst, DestinationPrefix: "b/"}
		cases := []struct {
			name   string
			change func(r *provider.ObjectStorageCopyRequest)
		}{
			{"no source bucket", func(r *provider.ObjectStorageCopyRequest) { r.SourceBucket = "" }},
			{"no destination bucket", func(r *provider.ObjectStorageCopyRequest) { r.DestinationBucket = "" }},
			{"overlapping prefixes", func(r *provider.ObjectStorageCopyRequest) {
				r.DestinationBucket, r.DestinationPrefix = src, "dl/backup/"
			}},
			{"malformed exclude pattern", func(r *provider.ObjectStorageCopyRequest) { r.ExcludePatterns = []string{"[x"} }},
			{"part size below S3's minimum", func(r *provider.ObjectStorageCopyRequest) { r.PartSize = 1 << 20 }},
			{"unknown existing-objects policy", func(r *provider.ObjectStorageCopyRequest) { r.Existing = "Merge" }},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				req := base
				c.change(&req)
				_, err := env.Provider.CopyObjectStorage(ctx, req)
				wantError(t, err, provider.KindInvalidInput, "")
				if got := listing(t, env.Provider, dst, ""); len(got) != 0 {
					t.Fatalf("a refused copy wrote %q", slices.Sorted(maps.Keys(got)))
				}
			})
		}
	})
}

// copyCounts are the counters of a copy result, comparable with ==.
type copyCounts struct {
	Total, Copied, Skipped, Excluded, Failed, Vanished int64
	BytesCopied, BytesTotal                            int64
}

func countsOf(r *provider.ObjectStorageCopyResult) copyCounts {
	return copyCounts{
		Total: r.ObjectsTotal, Copied: r.ObjectsCopied, Skipped: r.ObjectsSkipped, Excluded: r.ObjectsExcluded,
		Failed: r.ObjectsFailed, Vanished: r.ObjectsVanished, BytesCopied: r.BytesCopied, BytesTotal: r.BytesTotal,
	}
}

// checkProgress checks the copy reported its final totals with the listing done.
func checkProgress(t *testing.T, log *progressLog, res *provider.ObjectStorageCopyResult) {
	t.Helper()
	log.mu.Lock()
	defer log.mu.Unlock()
	if len(log.reports) == 0 {
		t.Fatal("Progress never called")
	}
	var best provider.CopyProgress
	done := false
	for _, r := range log.reports {
		done = done || r.ListingDone
		best.ObjectsTotal = max(best.ObjectsTotal, r.ObjectsTotal)
		best.ObjectsCopied = max(best.ObjectsCopied, r.ObjectsCopied)
		best.ObjectsSkipped = max(best.ObjectsSkipped, r.ObjectsSkipped)
		best.BytesCopied = max(best.BytesCopied, r.BytesCopied)
	}
	if !done {
		t.Errorf("no progress report has ListingDone")
	}
	if best.ObjectsTotal != res.ObjectsTotal || best.ObjectsCopied != res.ObjectsCopied ||
		best.ObjectsSkipped != res.ObjectsSkipped || best.BytesCopied != res.BytesCopied {
		t.Errorf("progress reached %+v, the result is %+v", best, *res)
	}
}

// multipartETag is S3's ETag of an object completed from parts of partSize bytes.
func multipartETag(data []byte, partSize int) string {
	var sums []byte
	parts := 0
	for off := 0; off < len(data); off += partSize {
		sum := md5.Sum(data[off:min(off+partSize, len(data))])
		sums = append(sums, sum[:]...)
		parts++
	}
	return fmt.Sprintf("%s-%d", md5Hex(sums), parts)
}
