package controller

import (
	"errors"
	"slices"
	"testing"
	"time"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// The sweep deletes a throw-away instance only when its backup is gone, and keeps
// every instance while the store refuses the delete; a running backup's instance and
// an instance without owner tags are never touched.
func TestDumpInstanceSweepDeletesOnlyLeakedInstancesAndKeepsThemOnError(t *testing.T) {
	running := request("running")
	running.Status.Phase = backupv1alpha1.PhaseInProgress
	m := newMachine(t, running)
	m.r.APIReader = m.client
	calls := &providerCalls{}
	m.r.Metrics = calls
	snap, err := m.cloud.CreateDatabaseSnapshot(m.ctx, provider.CreateSnapshotRequest{InstanceID: "retail-prd-db", Owner: owner(running)})
	if err != nil {
		t.Fatal(err)
	}
	m.clock.Step(2 * time.Minute) // the fake's snapshot is available after a minute
	gone := provider.BackupOwner{ProjectID: "retail", Environment: "prd", Namespace: "proj-retail-prd", Name: "gone", UID: "uid-gone"}
	for _, o := range []provider.BackupOwner{gone, owner(running)} {
		req := provider.RestoreDatabaseRequest{SnapshotID: snap.SnapshotID, TargetInstanceID: dumpInstancePrefix + o.UID, Owner: o}
		if _, err := m.cloud.RestoreDatabaseInstance(m.ctx, req); err != nil {
			t.Fatal(err)
		}
	}
	instances := func() []string {
		t.Helper()
		list, err := m.cloud.ListDatabaseInstances(m.ctx, "")
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, i := range list {
			ids = append(ids, i.InstanceID)
		}
		return ids
	}
	// retail-prd-db is the production instance: never a throw-away one.
	all := []string{dumpInstancePrefix + "uid-gone", dumpInstancePrefix + "uid-running", "retail-prd-db"}
	sweep := dumpInstanceSweep{m.r}

	m.cloud.FailWith("DeleteDatabaseInstance", errors.New("injected: the store refuses deletes"))
	sweep.sweep(m.ctx, "aws", m.cloud)
	if got := instances(); !slices.Equal(got, all) {
		t.Fatalf("with deletes refused: instances %v, want all of %v kept", got, all)
	}
	m.cloud.FailWith("ListDatabaseInstances", errors.New("injected: the listing fails"))
	m.cloud.FailWith("DeleteDatabaseInstance", nil)
	deletes := m.cloud.Calls("DeleteDatabaseInstance")
	sweep.sweep(m.ctx, "aws", m.cloud)
	m.cloud.FailWith("ListDatabaseInstances", nil)
	if got := instances(); !slices.Equal(got, all) || m.cloud.Calls("DeleteDatabaseInstance") != deletes {
		t.Fatalf("with the listing failing: instances %v, want all of %v kept, and no delete tried", got, all)
	}
	if len(calls.swept) != 0 {
		t.Fatalf("instances counted as swept %v, want none while every instance is kept", calls.swept)
	}
	sweep.sweep(m.ctx, "aws", m.cloud)
	if got, want := instances(), []string{dumpInstancePrefix + "uid-running", "retail-prd-db"}; !slices.Equal(got, want) {
		t.Fatalf("instances %v, want only the running backup's %v", got, want)
	}
	if !slices.Equal(calls.swept, []provider.BackupOwner{gone}) {
		t.Fatalf("instances counted as swept %v, want the gone backup's only", calls.swept)
	}
}
