package azure

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

func TestDatabaseMethodsAreNotSupportedAndPointToDumps(t *testing.T) {
	p := newTestProvider(t, Options{})
	ctx := context.Background()
	_, createErr := p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: "db"})
	_, statusErr := p.GetDatabaseSnapshotStatus(ctx, "s")
	_, tagsErr := p.DatabaseInstanceTags(ctx, "db")
	_, describeErr := p.DescribeDatabaseInstance(ctx, "db")
	_, restoreErr := p.RestoreDatabaseInstance(ctx, provider.RestoreDatabaseRequest{TargetInstanceID: "db"})
	_, newErr := p.CreateDatabaseInstance(ctx, provider.CreateDatabaseRequest{TargetInstanceID: "db"})
	for name, err := range map[string]error{
		"CreateDatabaseSnapshot": createErr, "GetDatabaseSnapshotStatus": statusErr,
		"DeleteDatabaseSnapshot": p.DeleteDatabaseSnapshot(ctx, "s"), "DatabaseInstanceTags": tagsErr,
		"DescribeDatabaseInstance": describeErr, "RestoreDatabaseInstance": restoreErr, "CreateDatabaseInstance": newErr,
		"DeleteDatabaseInstance": p.DeleteDatabaseInstance(ctx, "db", provider.BackupOwner{}),
	} {
		if provider.KindOf(err) != provider.KindNotSupported || !strings.Contains(provider.Describe(err), "spec.database.type: dump") {
			t.Errorf("%s: %v (%s), want NotSupported pointing to database dumps", name, err, provider.Describe(err))
		}
	}
}

// Azurite keeps no blob versions, so the contract's Versions group is skipped; what the
// provider answers instead is held here.
func TestVersionsAreNotRead(t *testing.T) {
	raw := newRawClient(t)
	bucket := raw.newContainer(t, "versions", nil)
	p := newTestProvider(t, Options{})
	ctx := context.Background()
	if on, err := p.BucketVersioning(ctx, bucket); err != nil || on {
		t.Fatalf("BucketVersioning = %v, %v; want false", on, err)
	}
	if _, err := p.BucketVersioning(ctx, "no-such-container"); provider.KindOf(err) != provider.KindNotFound {
		t.Fatalf("BucketVersioning of a missing container: %v, want NotFound", err)
	}
	for _, err := range p.WalkObjectsAsOf(ctx, bucket, "", time.Now()) {
		if provider.KindOf(err) != provider.KindNotSupported {
			t.Fatalf("WalkObjectsAsOf: %v, want NotSupported", err)
		}
	}
}

func TestAccountNameFromTheURL(t *testing.T) {
	for url, want := range map[string]string{
		"https://acme.blob.core.windows.net":         "acme",
		"https://acme.blob.core.windows.net/":        "acme",
		"http://127.0.0.1:10000/devstoreaccount1":    "devstoreaccount1",
		"http://localhost:10000/devstoreaccount1/x/": "devstoreaccount1",
	} {
		if got := accountName(Options{AccountURL: url}); got != want {
			t.Errorf("accountName(%q) = %q, want %q", url, got, want)
		}
	}
}
