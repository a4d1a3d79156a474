package aws

import (
	"context"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// motoEC2 calls moto's EC2 query API directly (the module has no EC2 client, and only
// the subnets and security group behind a DB subnet group are needed) and returns
// the first value of element in the answer.
func motoEC2(t testing.TB, element string, params url.Values) string {
	t.Helper()
	params.Set("Version", "2016-11-15")
	req, err := http.NewRequest(http.MethodPost, moto.Endpoint, strings.NewReader(params.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// moto routes by the credential scope's service; it does not check the signature.
	req.Header.Set("Authorization", "AWS4-HMAC-SHA256 Credential=test/20250101/us-east-1/ec2/aws4_request, SignedHeaders=host, Signature=0")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("ec2 %s: %v", params.Get("Action"), err)
	}
	defer func() { _ = resp.Body.Close() }()
	body, _ := io.ReadAll(resp.Body)
	m := regexp.MustCompile("<" + element + ">([^<]+)</" + element + ">").FindSubmatch(body)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("ec2 %s: HTTP %d, no <%s> in %s", params.Get("Action"), resp.StatusCode, element, body)
	}
	return string(m[1])
}

// newConfiguredInstance creates an instance in moto with a non-default value in every
// setting a restore carries over: its own parameter, option and subnet groups (on a
// VPC with two subnets), a security group, io1 storage, port and Multi-AZ.
func (c rawClients) newConfiguredInstance(t testing.TB, tags map[string]string) (string, provider.DatabaseInstanceSettings) {
	t.Helper()
	ctx := context.Background()
	n := instanceSeq.Add(1)
	name := func(kind string) string { return fmt.Sprintf("lc2-%s-%d-%d", kind, os.Getpid(), n) }
	vpc := motoEC2(t, "vpcId", url.Values{"Action": {"CreateVpc"}, "CidrBlock": {"10.0.0.0/16"}})
	var subnets []string
	for i, zone := range []string{"us-east-1a", "us-east-1b"} {
		subnets = append(subnets, motoEC2(t, "subnetId", url.Values{"Action": {"CreateSubnet"}, "VpcId": {vpc},
			"CidrBlock": {fmt.Sprintf("10.0.%d.0/24", i+1)}, "AvailabilityZone": {zone}}))
	}
	sg := motoEC2(t, "groupId", url.Values{"Action": {"CreateSecurityGroup"}, "VpcId": {vpc},
		"GroupName": {name("db")}, "GroupDescription": {"database"}})
	settings := provider.DatabaseInstanceSettings{
		InstanceClass: "db.m5.large", StorageType: "io1", AllocatedStorageGiB: 100, Iops: 1000,
		ParameterGroup: name("params"), OptionGroup: name("options"), SubnetGroup: name("subnets"),
		SecurityGroupIDs: []string{sg}, Port: 5433, MultiAZ: true, Tags: maps.Clone(tags),
	}
	if settings.Tags == nil {
		settings.Tags = map[string]string{}
	}
	if _, err := c.rds.CreateDBSubnetGroup(ctx, &rds.CreateDBSubnetGroupInput{
		DBSubnetGroupName: &settings.SubnetGroup, DBSubnetGroupDescription: awssdk.String("x"), SubnetIds: subnets,
	}); err != nil {
		t.Fatalf("create subnet group: %v", err)
	}
	if _, err := c.rds.CreateDBParameterGroup(ctx, &rds.CreateDBParameterGroupInput{
		DBParameterGroupName: &settings.ParameterGroup, DBParameterGroupFamily: awssdk.String("postgres15"), Description: awssdk.String("x"),
	}); err != nil {
		t.Fatalf("create parameter group: %v", err)
	}
	// moto knows option groups of a few major versions only; the version is irrelevant here.
	if _, err := c.rds.CreateOptionGroup(ctx, &rds.CreateOptionGroupInput{
		OptionGroupName: &settings.OptionGroup, EngineName: awssdk.String("postgres"), MajorEngineVersion: awssdk.String("10"),
		OptionGroupDescription: awssdk.String("x"),
	}); err != nil {
		t.Fatalf("create option group: %v", err)
	}
	id := name("source-db")
	_, err := c.rds.CreateDBInstance(ctx, &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: &id, Engine: awssdk.String("postgres"), EngineVersion: awssdk.String("15.4"),
		DBInstanceClass: &settings.InstanceClass, StorageType: &settings.StorageType,
		AllocatedStorage: &settings.AllocatedStorageGiB, Iops: &settings.Iops,
		DBParameterGroupName: &settings.ParameterGroup, OptionGroupName: &settings.OptionGroup,
		DBSubnetGroupName: &settings.SubnetGroup, VpcSecurityGroupIds: settings.SecurityGroupIDs,
		Port: &settings.Port, MultiAZ: &settings.MultiAZ, PubliclyAccessible: awssdk.Bool(false),
		MasterUsername: awssdk.String("liferay"), MasterUserPassword: awssdk.String("liferay-password"),
		Tags: rdsTags(settings.Tags),
	})
	if err != nil {
		t.Fatalf("create instance %s: %v", id, err)
	}
	return id, settings
}
