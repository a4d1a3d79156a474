package aws

import (
	"fmt"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// createInput sends what a new instance must have whatever the defaults: private
// unless asked, encrypted, tagged with its owner; the password only in its field.
func TestCreateInputIsPrivateEncryptedAndOwned(t *testing.T) {
	o := provider.BackupOwner{ProjectID: "acme", Environment: "prd", Namespace: "ns", Name: "rr", UID: "uid-1"}
	req := provider.CreateDatabaseRequest{TargetInstanceID: "acme-new", Engine: "postgres", EngineVersion: "16",
		Settings:   provider.DatabaseInstanceSettings{InstanceClass: "db.t3.medium", StorageType: "gp3", AllocatedStorageGiB: 60, Iops: 3000},
		MasterUser: "liferay", MasterPassword: "in-Put-pass#1", DatabaseName: "lportal", Owner: o}
	in := createInput(req)
	if !awssdk.ToBool(in.StorageEncrypted) || in.PubliclyAccessible == nil || *in.PubliclyAccessible || in.MultiAZ == nil || *in.MultiAZ {
		t.Errorf("encrypted %v, public %v, multi-AZ %v: want encrypted, and private and single-AZ explicitly",
			in.StorageEncrypted, in.PubliclyAccessible, in.MultiAZ)
	}
	if awssdk.ToString(in.MasterUserPassword) != "in-Put-pass#1" || awssdk.ToString(in.MasterUsername) != "liferay" || awssdk.ToString(in.DBName) != "lportal" {
		t.Errorf("master %q/%q, database %q", awssdk.ToString(in.MasterUsername), awssdk.ToString(in.MasterUserPassword), awssdk.ToString(in.DBName))
	}
	if awssdk.ToString(in.Engine) != "postgres" || awssdk.ToString(in.EngineVersion) != "16" || awssdk.ToInt32(in.AllocatedStorage) != 60 {
		t.Errorf("engine %s %s, %d GiB", awssdk.ToString(in.Engine), awssdk.ToString(in.EngineVersion), awssdk.ToInt32(in.AllocatedStorage))
	}
	if in.Iops != nil {
		t.Errorf("Iops %d on gp3 below %d GiB, which RDS refuses", *in.Iops, gp3MinProvisionedGiB)
	}
	tags := tagMap(in.Tags)
	if tags[provider.TagOwnerUID] != "uid-1" {
		t.Errorf("tags %v do not name the owner", tags)
	}
	if printed := fmt.Sprintf("%v %+v", req, req); strings.Contains(printed, "in-Put-pass#1") {
		t.Errorf("the printed request shows the password: %s", printed)
	}
	req.EngineVersion, req.DatabaseName = "", ""
	if in := createInput(req); in.EngineVersion != nil || in.DBName != nil {
		t.Errorf("an empty version or database is sent: %v, %v", in.EngineVersion, in.DBName)
	}
}
