package gcp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"cloud.google.com/go/storage"
	"google.golang.org/api/googleapi"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

func apiError(code int, message string) error {
	return fmt.Errorf("storage call: %w", &googleapi.Error{Code: code, Message: message})
}

func TestClassifyMapsStatusesToKinds(t *testing.T) {
	cases := []struct {
		name     string
		op       string
		key      string
		err      error
		kind     provider.ErrorKind
		mentions []string
	}{
		{"404 of an object", "objects.get", "dl/a.pdf", apiError(http.StatusNotFound, "No such object: b/dl/a.pdf"),
			provider.KindNotFound, []string{"gs://acme-dl/dl/a.pdf", "does not exist"}},
		{"404 of a bucket", "objects.get", "dl/a.pdf", apiError(http.StatusNotFound, "The specified bucket does not exist."),
			provider.KindNotFound, []string{"bucket acme-dl does not exist"}},
		{"missing object from the client", "objects.get", "dl/a.pdf", storage.ErrObjectNotExist,
			provider.KindNotFound, []string{"gs://acme-dl/dl/a.pdf"}},
		{"missing bucket from the client", "buckets.get", "", storage.ErrBucketNotExist,
			provider.KindNotFound, []string{"bucket acme-dl does not exist"}},
		{"404 of an upload is the bucket's", "objects.insert", "manifest.json", apiError(http.StatusNotFound, "Not Found"),
			provider.KindNotFound, []string{"bucket acme-dl does not exist"}},
		{"403", "objects.list", "", apiError(http.StatusForbidden, "caller does not have storage.objects.list access"),
			provider.KindAccessDenied, []string{"access denied", "acme-dl", "storage.objects.list"}},
		{"401", "objects.get", "k", apiError(http.StatusUnauthorized, "Invalid Credentials"),
			provider.KindAccessDenied, []string{"storage.objects.get"}},
		{"412 of a write-once write", "objects.rewrite", "b/claim", apiError(http.StatusPreconditionFailed, "conditionNotMet"),
			provider.KindConflict, []string{"gs://acme-dl/b/claim", "already exists"}},
		{"409", "objects.insert", "k", apiError(http.StatusConflict, "conflict"),
			provider.KindConflict, nil},
		{"429", "objects.rewrite", "k", apiError(http.StatusTooManyRequests, "rate limit"),
			provider.KindThrottled, []string{"slow down"}},
		{"503", "objects.rewrite", "k", apiError(http.StatusServiceUnavailable, "backend error"),
			provider.KindThrottled, nil},
		{"500", "objects.list", "", apiError(http.StatusInternalServerError, "internal"),
			provider.KindTransient, []string{"500 internal"}},
		{"400", "objects.insert", "k", apiError(http.StatusBadRequest, "Invalid object name"),
			provider.KindInvalidInput, []string{"Invalid object name"}},
		{"cancelled", "objects.list", "", context.Canceled,
			provider.KindTransient, []string{"cancelled"}},
		{"deadline", "objects.list", "", context.DeadlineExceeded,
			provider.KindTransient, []string{"timed out"}},
		{"network", "objects.get", "k", errors.New("dial tcp: connection refused"),
			provider.KindTransient, []string{"connection refused"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := classify(c.op, "acme-dl", c.key, c.err)
			var pe *provider.Error
			if !errors.As(err, &pe) {
				t.Fatalf("classify returned %T %v, want a *provider.Error", err, err)
			}
			if pe.Kind != c.kind {
				t.Fatalf("kind %s, want %s (%v)", pe.Kind, c.kind, err)
			}
			if !errors.Is(err, c.err) && !errors.Is(err, errors.Unwrap(c.err)) {
				t.Errorf("the classified error does not wrap the cause %v", c.err)
			}
			for _, m := range c.mentions {
				if !strings.Contains(pe.Message, m) {
					t.Errorf("Message %q does not mention %q", pe.Message, m)
				}
			}
			permanent := c.kind != provider.KindTransient && c.kind != provider.KindThrottled
			if provider.IsPermanent(err) != permanent {
				t.Errorf("IsPermanent = %v, want %v", provider.IsPermanent(err), permanent)
			}
		})
	}
}

func TestClassifyKeepsClassifiedErrorsAndNil(t *testing.T) {
	if classify("objects.get", "b", "k", nil) != nil {
		t.Fatal("classify(nil) is not nil")
	}
	inner := invalidInput("objects.get", "b/k", "already classified")
	if got := classify("objects.list", "b", "", fmt.Errorf("wrapped: %w", inner)); provider.KindOf(got) != provider.KindInvalidInput || provider.Describe(got) != "already classified" {
		t.Fatalf("classify of a classified error = %v, want it unchanged", got)
	}
}

// The provider has no database service: every database method says so, and what to
// use instead, as a permanent KindNotSupported error.
func TestDatabaseMethodsAreNotSupported(t *testing.T) {
	p := &Provider{}
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["CreateDatabaseSnapshot"] = p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: "db"})
	_, errs["GetDatabaseSnapshotStatus"] = p.GetDatabaseSnapshotStatus(ctx, "snap")
	errs["DeleteDatabaseSnapshot"] = p.DeleteDatabaseSnapshot(ctx, "snap")
	_, errs["DatabaseInstanceTags"] = p.DatabaseInstanceTags(ctx, "db")
	_, errs["DescribeDatabaseInstance"] = p.DescribeDatabaseInstance(ctx, "db")
	_, errs["RestoreDatabaseInstance"] = p.RestoreDatabaseInstance(ctx, provider.RestoreDatabaseRequest{TargetInstanceID: "db"})
	_, errs["CreateDatabaseInstance"] = p.CreateDatabaseInstance(ctx, provider.CreateDatabaseRequest{TargetInstanceID: "db"})
	errs["DeleteDatabaseInstance"] = p.DeleteDatabaseInstance(ctx, "db", provider.BackupOwner{})
	for op, err := range errs {
		if provider.KindOf(err) != provider.KindNotSupported || !provider.IsPermanent(err) {
			t.Errorf("%s: %v, want a permanent NotSupported error", op, err)
			continue
		}
		if d := provider.Describe(err); !strings.Contains(d, "no database snapshots") || !strings.Contains(d, "spec.database.type: dump") {
			t.Errorf("%s: message %q does not say there are no snapshots and that dumps are the way", op, d)
		}
	}
}
