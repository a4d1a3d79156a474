package aws

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"testing"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	rdstypes "github.com/aws/aws-sdk-go-v2/service/rds/types"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// newTaggedInstance creates a PostgreSQL instance in moto with tags and returns its identifier.
func (c rawClients) newTaggedInstance(t testing.TB, tags map[string]string) string {
	t.Helper()
	id := fmt.Sprintf("owned-db-%d-%d", os.Getpid(), instanceSeq.Add(1))
	var rdsTags []rdstypes.Tag
	for k, v := range tags {
		rdsTags = append(rdsTags, rdstypes.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
	}
	_, err := c.rds.CreateDBInstance(context.Background(), &rds.CreateDBInstanceInput{
		DBInstanceIdentifier: &id,
		DBInstanceClass:      awssdk.String("db.t3.micro"),
		Engine:               awssdk.String("postgres"),
		AllocatedStorage:     awssdk.Int32(20),
		MasterUsername:       awssdk.String("liferay"),
		MasterUserPassword:   awssdk.String("liferay-password"),
		Tags:                 rdsTags,
	})
	if err != nil {
		t.Fatalf("create instance %s: %v", id, err)
	}
	return id
}

// tagBucket replaces a bucket's tag set.
func (c rawClients) tagBucket(t testing.TB, bucket string, tags map[string]string) {
	t.Helper()
	var set []s3types.Tag
	for k, v := range tags {
		set = append(set, s3types.Tag{Key: awssdk.String(k), Value: awssdk.String(v)})
	}
	_, err := c.s3.PutBucketTagging(context.Background(), &s3.PutBucketTaggingInput{
		Bucket: &bucket, Tagging: &s3types.Tagging{TagSet: set},
	})
	if err != nil {
		t.Fatalf("tag bucket %s: %v", bucket, err)
	}
}

func TestDatabaseInstanceTags(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	p := newTestProvider(t, Options{})

	t.Run("a tagged instance returns its tags", func(t *testing.T) {
		want := map[string]string{backupv1alpha1.OwnershipTagKey: "retail", "team": "commerce"}
		id := raw.newTaggedInstance(t, want)
		got, err := p.DatabaseInstanceTags(ctx, id)
		if err != nil {
			t.Fatalf("DatabaseInstanceTags(%s): %v", id, err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("DatabaseInstanceTags(%s) = %v, want %v", id, got, want)
		}
	})

	t.Run("tags added after creation are seen", func(t *testing.T) {
		id := raw.newTaggedInstance(t, nil)
		desc, err := raw.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: &id})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.rds.AddTagsToResource(ctx, &rds.AddTagsToResourceInput{
			ResourceName: desc.DBInstances[0].DBInstanceArn,
			Tags:         []rdstypes.Tag{{Key: awssdk.String(backupv1alpha1.OwnershipTagKey), Value: awssdk.String("bank")}},
		}); err != nil {
			t.Fatal(err)
		}
		got, err := p.DatabaseInstanceTags(ctx, id)
		if err != nil || got[backupv1alpha1.OwnershipTagKey] != "bank" {
			t.Fatalf("DatabaseInstanceTags(%s) = %v, %v; want the project tag bank", id, got, err)
		}
	})

	t.Run("an untagged instance has an empty map", func(t *testing.T) {
		id := raw.newTaggedInstance(t, nil)
		got, err := p.DatabaseInstanceTags(ctx, id)
		if err != nil {
			t.Fatalf("DatabaseInstanceTags(%s): %v", id, err)
		}
		if got == nil || len(got) != 0 {
			t.Fatalf("DatabaseInstanceTags(%s) = %#v, want an empty, non-nil map", id, got)
		}
	})

	t.Run("a missing instance is NotFound with a message naming it and the region", func(t *testing.T) {
		_, err := p.DatabaseInstanceTags(ctx, "bravo-ghost-db")
		if !provider.IsNotFound(err) {
			t.Fatalf("DatabaseInstanceTags(bravo-ghost-db) = %v, want NotFound", err)
		}
		if got, want := provider.Describe(err), "database instance bravo-ghost-db not found in us-east-1"; got != want {
			t.Fatalf("Describe = %q, want %q", got, want)
		}
	})

	t.Run("an empty id is InvalidInput", func(t *testing.T) {
		if _, err := p.DatabaseInstanceTags(ctx, ""); provider.KindOf(err) != provider.KindInvalidInput {
			t.Fatalf("DatabaseInstanceTags(\"\") = %v, want InvalidInput", err)
		}
	})
}

func TestBucketTags(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	p := newTestProvider(t, Options{})

	t.Run("a tagged bucket returns its tags", func(t *testing.T) {
		bucket := raw.newBucket(t, "owned")
		want := map[string]string{backupv1alpha1.OwnershipTagKey: "retail", backupv1alpha1.SharedBackupBucketTag: "true"}
		raw.tagBucket(t, bucket, want)
		got, err := p.BucketTags(ctx, bucket)
		if err != nil {
			t.Fatalf("BucketTags(%s): %v", bucket, err)
		}
		if !maps.Equal(got, want) {
			t.Fatalf("BucketTags(%s) = %v, want %v", bucket, got, want)
		}
	})

	t.Run("an untagged bucket has an empty map, not an error", func(t *testing.T) {
		bucket := raw.newBucket(t, "untagged")
		got, err := p.BucketTags(ctx, bucket)
		if err != nil {
			t.Fatalf("BucketTags(%s): %v", bucket, err)
		}
		if got == nil || len(got) != 0 {
			t.Fatalf("BucketTags(%s) = %#v, want an empty, non-nil map", bucket, got)
		}
	})

	t.Run("a bucket whose tags were deleted has an empty map", func(t *testing.T) {
		bucket := raw.newBucket(t, "untagged")
		raw.tagBucket(t, bucket, map[string]string{backupv1alpha1.OwnershipTagKey: "retail"})
		if _, err := raw.s3.DeleteBucketTagging(ctx, &s3.DeleteBucketTaggingInput{Bucket: &bucket}); err != nil {
			t.Fatal(err)
		}
		got, err := p.BucketTags(ctx, bucket)
		if err != nil || len(got) != 0 {
			t.Fatalf("BucketTags(%s) = %v, %v; want an empty map", bucket, got, err)
		}
	})

	t.Run("a missing bucket is NotFound with a message naming it", func(t *testing.T) {
		bucket := fmt.Sprintf("missing-%d", os.Getpid())
		_, err := p.BucketTags(ctx, bucket)
		if !provider.IsNotFound(err) {
			t.Fatalf("BucketTags(%s) = %v, want NotFound", bucket, err)
		}
		if got, want := provider.Describe(err), "bucket "+bucket+" does not exist"; got != want {
			t.Fatalf("Describe = %q, want %q", got, want)
		}
	})

	t.Run("an empty name is InvalidInput", func(t *testing.T) {
		if _, err := p.BucketTags(ctx, ""); provider.KindOf(err) != provider.KindInvalidInput {
			t.Fatalf("BucketTags(\"\") = %v, want InvalidInput", err)
		}
	})
}

func TestOwnershipAccessDeniedNamesTheMissingPermission(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)
	bucket := raw.newBucket(t, "denied")
	instance := raw.newTaggedInstance(t, map[string]string{backupv1alpha1.OwnershipTagKey: "retail"})
	proxy := newFaultProxy(t)
	proxy.inject(func(r *http.Request) bool { return r.URL.Query().Has("tagging") }, -1, http.StatusForbidden, "AccessDenied")
	proxy.inject(func(r *http.Request) bool { return r.Method == http.MethodPost }, -1, http.StatusForbidden, "AccessDenied") // RDS
	p := newTestProvider(t, Options{Endpoint: proxy.URL})

	_, err := p.BucketTags(ctx, bucket)
	if provider.KindOf(err) != provider.KindAccessDenied {
		t.Fatalf("BucketTags = %v, want AccessDenied", err)
	}
	if got, want := provider.Describe(err), "access denied to bucket "+bucket+" (s3:GetBucketTagging)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}

	_, err = p.DatabaseInstanceTags(ctx, instance)
	if provider.KindOf(err) != provider.KindAccessDenied {
		t.Fatalf("DatabaseInstanceTags = %v, want AccessDenied", err)
	}
	if got, want := provider.Describe(err), "access denied to database instance "+instance+" in us-east-1 (rds:DescribeDBInstances)"; got != want {
		t.Errorf("Describe = %q, want %q", got, want)
	}
}

// TestOwnershipCallsOnMoto pins down what the emulator answers for the calls
// DatabaseInstanceTags and BucketTags make, so a moto upgrade that changes them shows
// up here rather than as a confusing controller failure.
func TestOwnershipCallsOnMoto(t *testing.T) {
	ctx := context.Background()
	raw := newRawClients(t)

	tagged := raw.newTaggedInstance(t, map[string]string{backupv1alpha1.OwnershipTagKey: "retail"})
	out, err := raw.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: &tagged})
	if err != nil {
		t.Fatal(err)
	}
	if got := tagMap(out.DBInstances[0].TagList); got[backupv1alpha1.OwnershipTagKey] != "retail" {
		t.Errorf("DescribeDBInstances TagList = %v: moto no longer includes tags (ListTagsForResource fallback needed)", got)
	}

	untagged := raw.newTaggedInstance(t, nil)
	out, err = raw.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: &untagged})
	if err != nil {
		t.Fatal(err)
	}
	if out.DBInstances[0].TagList == nil {
		t.Errorf("DescribeDBInstances of an untagged instance has no TagList element: each check costs a ListTagsForResource")
	}

	_, err = raw.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: awssdk.String("bravo-ghost-db")})
	if code := errorCode(err); code != "DBInstanceNotFound" && code != "DBInstanceNotFoundFault" {
		t.Errorf("DescribeDBInstances of a missing instance: code %q (%v), want DBInstanceNotFound", code, err)
	}

	bucket := raw.newBucket(t, "probe")
	_, err = raw.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: &bucket})
	if code := errorCode(err); code != "NoSuchTagSet" {
		t.Errorf("GetBucketTagging of an untagged bucket: code %q (%v), want NoSuchTagSet", code, err)
	}
	missing := fmt.Sprintf("probe-missing-%d", os.Getpid())
	_, err = raw.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &missing})
	if code := errorCode(err); code != "NotFound" {
		t.Errorf("HeadBucket of a missing bucket: code %q (%v), want NotFound", code, err)
	}
	_, err = raw.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: &missing})
	if code := errorCode(err); code != "NoSuchBucket" {
		t.Errorf("GetBucketTagging of a missing bucket: code %q (%v), want NoSuchBucket", code, err)
	}
}
