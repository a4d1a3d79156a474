package manifest

import (
	"bytes"
	"reflect"
	"strings"
	"testing"
)

func withSourceInstance(t *testing.T) *Manifest {
	t.Helper()
	m := sample(t)
	m.Database.SourceInstance = &InstanceSettings{
		InstanceClass: "db.m6g.large", StorageType: "gp3", AllocatedStorageGiB: 400, Iops: 12000,
		ParameterGroup: "retail-postgres15", OptionGroup: "default:postgres-15", SubnetGroup: "retail-prd-db",
		SecurityGroupIDs: []string{"sg-0a1b2c3d4e5f60718", "sg-0f1e2d3c4b5a69788"}, Port: 5432, MultiAZ: true,
		Tags: map[string]string{"backup.liferay.cloud/project-id": "retail", "cost-center": "R&D (été)"},
	}
	return m
}

func TestSourceInstanceRoundTripsAndIsCoveredByTheChecksum(t *testing.T) {
	m := withSourceInstance(t)
	if err := m.Seal(); err != nil {
		t.Fatal(err)
	}
	data, err := m.Marshal(Pretty)
	if err != nil {
		t.Fatal(err)
	}
	got, err := Verify(data)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	if !reflect.DeepEqual(got.Database.SourceInstance, m.Database.SourceInstance) {
		t.Fatalf("read back %+v,\nwant %+v", got.Database.SourceInstance, m.Database.SourceInstance)
	}
	for _, change := range []struct{ from, to string }{
		{`"port": 5432`, `"port": 5433`},
		{`"multiAZ": true`, `"multiAZ": false`},
		{`"sg-0f1e2d3c4b5a69788"`, `"sg-0f1e2d3c4b5a69789"`},
		{`(été)`, `(ete)`},
	} {
		tampered := bytes.Replace(data, []byte(change.from), []byte(change.to), 1)
		if bytes.Equal(tampered, data) {
			t.Fatalf("%s not found in the manifest:\n%s", change.from, data)
		}
		if _, err := Verify(tampered); err == nil || !strings.Contains(err.Error(), "checksum") {
			t.Errorf("changing %s to %s: Verify = %v, want a checksum mismatch", change.from, change.to, err)
		}
	}
}

func TestSourceInstanceIsRefusedInAVersion10Manifest(t *testing.T) {
	m := withSourceInstance(t)
	m.DocumentLibrary.Inventory = nil
	m.Version = Version10
	data, err := m.Marshal(Compact)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Parse(data); err == nil || !strings.Contains(err.Error(), "database.sourceInstance needs version") {
		t.Fatalf("Parse of a 1.0 manifest with sourceInstance = %v, want it refused", err)
	}
}

func TestSourceInstanceNegativeNumbersAreInvalid(t *testing.T) {
	m := withSourceInstance(t)
	m.Database.SourceInstance.Port = -1
	if err := m.Validate(); err == nil || !strings.Contains(err.Error(), "database.sourceInstance.port is negative") {
		t.Fatalf("Validate = %v, want the negative port named", err)
	}
}
