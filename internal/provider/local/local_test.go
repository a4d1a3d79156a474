package local

import (
	"context"
	"strings"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// The local store has no database service: every database method answers a permanent
// NotSupported error pointing to dumps, not the S3 provider's RDS call underneath.
func TestDatabaseMethodsAreNotSupportedAndNameTheDumpWay(t *testing.T) {
	p, err := New(context.Background(), Options{Endpoint: "http://127.0.0.1:1"})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	errs := map[string]error{}
	_, errs["CreateDatabaseSnapshot"] = p.CreateDatabaseSnapshot(ctx, provider.CreateSnapshotRequest{InstanceID: "db"})
	_, errs["DatabaseInstanceTags"] = p.DatabaseInstanceTags(ctx, "db")
	_, errs["RestoreDatabaseInstance"] = p.RestoreDatabaseInstance(ctx, provider.RestoreDatabaseRequest{TargetInstanceID: "db"})
	_, errs["CreateDatabaseInstance"] = p.CreateDatabaseInstance(ctx, provider.CreateDatabaseRequest{TargetInstanceID: "db"})
	errs["DeleteDatabaseInstance"] = p.DeleteDatabaseInstance(ctx, "db", provider.BackupOwner{})
	for op, err := range errs {
		if provider.KindOf(err) != provider.KindNotSupported || !provider.IsPermanent(err) ||
			!strings.Contains(provider.Describe(err), "spec.database.dump.connectionSecretRef") {
			t.Errorf("%s: %v, want a permanent NotSupported error naming the dump way", op, err)
		}
	}
	if provider.CapabilitiesOf(p).DatabaseSnapshots {
		t.Error("local claims a database service")
	}
	if cmd := provider.BucketTagCommand(p, "b", "k", "v"); !strings.Contains(cmd, "--endpoint-url http://127.0.0.1:1") {
		t.Errorf("the tag command does not name the store: %s", cmd)
	}
}

func TestNewRefusesAStoreWithoutAnEndpoint(t *testing.T) {
	if _, err := New(context.Background(), Options{}); err == nil || !strings.Contains(err.Error(), provider.EnvLocalS3Endpoint) {
		t.Errorf("want an error naming %s, got %v", provider.EnvLocalS3Endpoint, err)
	}
}
