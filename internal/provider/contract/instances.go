package contract

import (
	"context"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// ---- Database instances (restores) -----------------------------------------------

// sortedSettings returns s with its security groups sorted, for comparisons.
func sortedSettings(s provider.DatabaseInstanceSettings) provider.DatabaseInstanceSettings {
	s.SecurityGroupIDs = slices.Sorted(slices.Values(s.SecurityGroupIDs))
	return s
}

// wantSettings fails unless got and want are the same settings.
func wantSettings(t *testing.T, what string, got, want provider.DatabaseInstanceSettings) {
	t.Helper()
	g, w := sortedSettings(got), sortedSettings(want)
	if !maps.Equal(g.Tags, w.Tags) {
		t.Errorf("%s tags %v,\nwant %v", what, g.Tags, w.Tags)
	}
	g.Tags, w.Tags = nil, nil
	if !slices.Equal(g.SecurityGroupIDs, w.SecurityGroupIDs) {
		t.Errorf("%s security groups %q, want %q", what, g.SecurityGroupIDs, w.SecurityGroupIDs)
	}
	g.SecurityGroupIDs, w.SecurityGroupIDs = nil, nil
	if !reflect.DeepEqual(g, w) {
		t.Errorf("%s settings %+v,\nwant %+v", what, g, w)
	}
}

// waitInstanceAvailable polls DescribeDatabaseInstance until the instance is Available.
func waitInstanceAvailable(t *testing.T, env Env, id string) *provider.DatabaseInstance {
	t.Helper()
	timeout := env.SnapshotTimeout
	if timeout == 0 {
		timeout = time.Minute
	}
	deadline := time.Now().Add(timeout)
	for {
		inst, err := env.Provider.DescribeDatabaseInstance(context.Background(), id)
		if err != nil {
			t.Fatalf("describe %s: %v", id, err)
		}
		if inst.State == provider.DatabaseInstanceAvailable {
			return inst
		}
		if inst.State != provider.DatabaseInstanceCreating && inst.State != provider.DatabaseInstanceUnknown {
			t.Fatalf("instance %s is %s (raw %q), want Creating until Available", id, inst.State, inst.RawStatus)
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s still %s after %v", id, inst.State, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// snapshotOf creates an available snapshot of instance and returns its id.
func snapshotOf(t *testing.T, env Env, instance string) string {
	t.Helper()
	created, err := env.Provider.CreateDatabaseSnapshot(context.Background(), provider.CreateSnapshotRequest{InstanceID: instance, Owner: owner()})
	if err != nil {
		t.Fatalf("snapshot %s: %v", instance, err)
	}
	waitAvailable(t, env, created.SnapshotID)
	return created.SnapshotID
}

func (s *suite) instances(t *testing.T) {
	ctx := context.Background()
	sourceTags := map[string]string{provider.TagProjectID: "acme", "team": "commerce"}

	t.Run("DescribeDatabaseInstance reports state, endpoint and settings", func(t *testing.T) {
		env := s.newEnv(t)
		id, want := env.NewConfiguredInstance(t, sourceTags)
		got, err := env.Provider.DescribeDatabaseInstance(ctx, id)
		if err != nil {
			t.Fatalf("describe: %v", err)
		}
		if got.InstanceID != id || got.InstanceARN == "" || got.Engine != "postgres" || got.EngineVersion == "" {
			t.Errorf("described %+v, want instance %s with ARN, engine postgres and a version", *got, id)
		}
		if got.State != provider.DatabaseInstanceAvailable || got.RawStatus != "available" {
			t.Errorf("state %s (raw %q), want Available", got.State, got.RawStatus)
		}
		if host, port, ok := strings.Cut(got.Endpoint, ":"); !ok || host == "" || port != strconv.Itoa(int(want.Port)) {
			t.Errorf("endpoint %q, want host:%d", got.Endpoint, want.Port)
		}
		wantSettings(t, "described", got.Settings, want)
		if got.Owner.UID != "" || got.Owner.ProjectID != "acme" {
			t.Errorf("owner read back as %+v, want only the project of its project tag", got.Owner)
		}
		got.Settings.Tags["team"] = "changed by the caller"
		if again, err := env.Provider.DescribeDatabaseInstance(ctx, id); err != nil || again.Settings.Tags["team"] != "commerce" {
			t.Errorf("after changing the returned tags the instance has %v, %v", again.Settings.Tags, err)
		}

		missing := unique("no-such-db")
		_, err = env.Provider.DescribeDatabaseInstance(ctx, missing)
		wantError(t, err, provider.KindNotFound, missing)
		_, err = env.Provider.DescribeDatabaseInstance(ctx, "")
		wantError(t, err, provider.KindInvalidInput, "")
	})

	t.Run("RestoreDatabaseInstance recreates the instance as recorded, adopts it on a retry and touches no one else's", func(t *testing.T) {
		env := s.newEnv(t)
		source, recorded := env.NewConfiguredInstance(t, sourceTags)
		snapshot := snapshotOf(t, env, source)

		o := owner()
		settings := recorded
		settings.Tags = maps.Clone(recorded.Tags)
		// A source that was itself restored carries its restore's owner tags, and AWS
		// reports its own aws: tags; neither may reach the new instance.
		settings.Tags[provider.TagOwnerUID] = "uid-of-an-earlier-restore"
		settings.Tags[provider.TagOwnerName] = "earlier-restore"
		settings.Tags["aws:cloudformation:stack-name"] = "reserved"
		settings.InstanceClass = "db.r5.large" // an override
		settings.Port = recorded.Port + 1
		target := unique("restored-db")
		req := provider.RestoreDatabaseRequest{SnapshotID: snapshot, TargetInstanceID: target, Settings: settings, Owner: o}

		started, err := env.Provider.RestoreDatabaseInstance(ctx, req)
		if err != nil {
			t.Fatalf("restore: %v", err)
		}
		if started.InstanceID != target || started.InstanceARN == "" || started.Adopted {
			t.Fatalf("restore returned %+v, want a new instance %s with an ARN", *started, target)
		}
		if started.State != provider.DatabaseInstanceCreating && started.State != provider.DatabaseInstanceAvailable {
			t.Errorf("restore returned state %s, want Creating or Available", started.State)
		}
		restored := waitInstanceAvailable(t, env, target)
		want := settings
		want.Tags = maps.Clone(sourceTags)
		maps.Copy(want.Tags, provider.OwnerTags(o))
		wantSettings(t, "restored", restored.Settings, want)
		if restored.Owner != o {
			t.Errorf("restored instance's owner %+v, want %+v", restored.Owner, o)
		}
		if !strings.HasSuffix(restored.Endpoint, ":"+strconv.Itoa(int(settings.Port))) {
			t.Errorf("restored endpoint %q, want port %d", restored.Endpoint, settings.Port)
		}

		again, err := env.Provider.RestoreDatabaseInstance(ctx, req)
		if err != nil {
			t.Fatalf("second restore with the same owner: %v", err)
		}
		if !again.Adopted || again.InstanceARN != restored.InstanceARN {
			t.Fatalf("second restore returned %+v, want %s adopted", *again, restored.InstanceARN)
		}

		other := req
		other.Owner = owner()
		_, err = env.Provider.RestoreDatabaseInstance(ctx, other)
		wantError(t, err, provider.KindConflict, target)

		onto := req
		onto.TargetInstanceID = source // exists, and no restore's
		_, err = env.Provider.RestoreDatabaseInstance(ctx, onto)
		wantError(t, err, provider.KindConflict, source)
		if after, err := env.Provider.DescribeDatabaseInstance(ctx, source); err != nil {
			t.Fatalf("describe the source after the refused restore: %v", err)
		} else {
			wantSettings(t, "source after the refused restore", after.Settings, recorded)
		}
	})

	t.Run("RestoreDatabaseInstance enables IAM authentication only when asked", func(t *testing.T) {
		env := s.newEnv(t)
		source, _ := env.NewConfiguredInstance(t, sourceTags)
		snapshot := snapshotOf(t, env, source)
		for _, iam := range []bool{true, false} {
			target := unique("restored-db")
			req := provider.RestoreDatabaseRequest{SnapshotID: snapshot, TargetInstanceID: target, Owner: owner(), IAMAuthentication: iam}
			if _, err := env.Provider.RestoreDatabaseInstance(ctx, req); err != nil {
				t.Fatalf("restore: %v", err)
			}
			if got := waitInstanceAvailable(t, env, target); got.IAMAuthentication != iam {
				t.Errorf("restored with IAMAuthentication %v, the instance reports %v", iam, got.IAMAuthentication)
			}
		}
	})

	t.Run("RestoreDatabaseInstance of a missing snapshot is NotFound, of an incomplete request InvalidInput", func(t *testing.T) {
		env := s.newEnv(t)
		missing := unique("lc2-contract-no-snapshot")
		target := unique("restored-db")
		_, err := env.Provider.RestoreDatabaseInstance(ctx, provider.RestoreDatabaseRequest{SnapshotID: missing, TargetInstanceID: target, Owner: owner()})
		wantError(t, err, provider.KindNotFound, missing)
		if _, err := env.Provider.DescribeDatabaseInstance(ctx, target); !provider.IsNotFound(err) {
			t.Errorf("after the refused restore describing %s gives %v, want NotFound", target, err)
		}
		for name, req := range map[string]provider.RestoreDatabaseRequest{
			"no snapshot": {TargetInstanceID: target, Owner: owner()},
			"no target":   {SnapshotID: missing, Owner: owner()},
			"no uid":      {SnapshotID: missing, TargetInstanceID: target, Owner: provider.BackupOwner{Namespace: "ns", Name: "n"}},
		} {
			_, err := env.Provider.RestoreDatabaseInstance(ctx, req)
			if err == nil || provider.KindOf(err) != provider.KindInvalidInput {
				t.Errorf("%s: %v, want InvalidInput", name, err)
			}
		}
	})

	t.Run("CreateDatabaseInstance creates an empty instance as asked, adopts it on a retry and touches no one else's", func(t *testing.T) {
		env := s.newEnv(t)
		source, recorded := env.NewConfiguredInstance(t, sourceTags)
		const password = "contract-Master-pass#7"
		o := owner()
		target := unique("created-db")
		settings := provider.DatabaseInstanceSettings{InstanceClass: "db.t3.medium", StorageType: "gp3", AllocatedStorageGiB: 60,
			Tags: map[string]string{provider.TagProjectID: "acme", "team": "commerce", provider.TagOwnerUID: "uid-of-an-earlier-restore"}}
		req := provider.CreateDatabaseRequest{TargetInstanceID: target, Engine: "postgres", EngineVersion: "16", Settings: settings,
			MasterUser: "liferay", MasterPassword: password, DatabaseName: "lportal", Owner: o}
		if printed := fmt.Sprintf("%v %+v %#v %s", req, req, req, req.MasterPassword); strings.Contains(printed, password) {
			t.Fatalf("a printed request shows the password: %s", printed)
		}

		started, err := env.Provider.CreateDatabaseInstance(ctx, req)
		if err != nil {
			t.Fatalf("create: %v", err)
		}
		if started.InstanceID != target || started.InstanceARN == "" || started.Adopted {
			t.Fatalf("create returned %+v, want a new instance %s with an ARN", *started, target)
		}
		created := waitInstanceAvailable(t, env, target)
		if created.Engine != "postgres" || !strings.HasPrefix(created.EngineVersion, "16") {
			t.Errorf("created engine %s %s, want postgres 16", created.Engine, created.EngineVersion)
		}
		if created.Owner != o {
			t.Errorf("created instance's owner %+v, want %+v", created.Owner, o)
		}
		wantTags := map[string]string{provider.TagProjectID: "acme", "team": "commerce"}
		maps.Copy(wantTags, provider.OwnerTags(o))
		if !maps.Equal(created.Settings.Tags, wantTags) {
			t.Errorf("created tags %v,\nwant %v", created.Settings.Tags, wantTags)
		}
		if got := created.Settings; got.InstanceClass != "db.t3.medium" || got.AllocatedStorageGiB != 60 || got.StorageType != "gp3" || got.MultiAZ || got.PubliclyAccessible {
			t.Errorf("created settings %+v, want db.t3.medium, gp3, 60 GiB, single-AZ, private", got)
		}
		if created.Endpoint == "" {
			t.Errorf("the available instance has no endpoint")
		}

		again, err := env.Provider.CreateDatabaseInstance(ctx, req)
		if err != nil {
			t.Fatalf("second create with the same owner: %v", err)
		}
		if !again.Adopted || again.InstanceARN != created.InstanceARN {
			t.Fatalf("second create returned %+v, want %s adopted", *again, created.InstanceARN)
		}

		other := req
		other.Owner = owner()
		_, err = env.Provider.CreateDatabaseInstance(ctx, other)
		wantError(t, err, provider.KindConflict, target)
		onto := req
		onto.TargetInstanceID = source // exists, and no restore's
		_, err = env.Provider.CreateDatabaseInstance(ctx, onto)
		wantError(t, err, provider.KindConflict, source)
		if strings.Contains(err.Error(), password) {
			t.Errorf("the conflict %q shows the password", err)
		}
		if after, err := env.Provider.DescribeDatabaseInstance(ctx, source); err != nil {
			t.Fatalf("describe the source after the refused create: %v", err)
		} else {
			wantSettings(t, "source after the refused create", after.Settings, recorded)
		}

		for name, bad := range map[string]provider.CreateDatabaseRequest{
			"no password": {TargetInstanceID: unique("created-db"), Engine: "postgres", Settings: settings, MasterUser: "liferay", Owner: o},
			"no engine":   {TargetInstanceID: unique("created-db"), Settings: settings, MasterUser: "liferay", MasterPassword: password, Owner: o},
			"no class":    {TargetInstanceID: unique("created-db"), Engine: "postgres", MasterUser: "liferay", MasterPassword: password, Owner: o},
			"no uid": {TargetInstanceID: unique("created-db"), Engine: "postgres", Settings: settings, MasterUser: "liferay", MasterPassword: password,
				Owner: provider.BackupOwner{Namespace: "ns", Name: "n"}},
		} {
			_, err := env.Provider.CreateDatabaseInstance(ctx, bad)
			if err == nil || provider.KindOf(err) != provider.KindInvalidInput {
				t.Errorf("%s: %v, want InvalidInput", name, err)
			} else if strings.Contains(err.Error(), password) {
				t.Errorf("%s: the error %q shows the password", name, err)
			}
			if _, err := env.Provider.DescribeDatabaseInstance(ctx, bad.TargetInstanceID); !provider.IsNotFound(err) {
				t.Errorf("%s: after the refused create describing %s gives %v, want NotFound", name, bad.TargetInstanceID, err)
			}
		}
	})

	t.Run("DeleteDatabaseInstance deletes only an instance its owner restored", func(t *testing.T) {
		env := s.newEnv(t)
		source, _ := env.NewConfiguredInstance(t, sourceTags)
		snapshot := snapshotOf(t, env, source)
		o := owner()
		target := unique("restored-db")
		if _, err := env.Provider.RestoreDatabaseInstance(ctx, provider.RestoreDatabaseRequest{SnapshotID: snapshot, TargetInstanceID: target, Owner: o}); err != nil {
			t.Fatalf("restore: %v", err)
		}
		waitInstanceAvailable(t, env, target)

		wantError(t, env.Provider.DeleteDatabaseInstance(ctx, target, owner()), provider.KindConflict, target)
		wantError(t, env.Provider.DeleteDatabaseInstance(ctx, source, o), provider.KindConflict, source)
		for _, id := range []string{target, source} {
			if inst, err := env.Provider.DescribeDatabaseInstance(ctx, id); err != nil || inst.State != provider.DatabaseInstanceAvailable {
				t.Fatalf("after a refused delete %s is %+v, %v; want it untouched", id, inst, err)
			}
		}

		if err := env.Provider.DeleteDatabaseInstance(ctx, target, o); err != nil {
			t.Fatalf("delete by its owner: %v", err)
		}
		if inst, err := env.Provider.DescribeDatabaseInstance(ctx, target); err == nil && inst.State != provider.DatabaseInstanceDeleting {
			t.Fatalf("after delete the instance is %s, want it gone or Deleting", inst.State)
		} else if err != nil {
			wantError(t, err, provider.KindNotFound, target)
		}
		if err := env.Provider.DeleteDatabaseInstance(ctx, target, o); err != nil {
			t.Fatalf("second delete: %v, want success", err)
		}
		if err := env.Provider.DeleteDatabaseInstance(ctx, unique("never-existed"), o); err != nil {
			t.Fatalf("delete of a missing instance: %v, want success", err)
		}
		wantError(t, env.Provider.DeleteDatabaseInstance(ctx, target, provider.BackupOwner{}), provider.KindInvalidInput, "")
	})
}
