package aws

import (
	"context"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// DatabaseInstanceTags returns the tags of an RDS instance (DescribeDBInstances, and
// ListTagsForResource where the description leaves TagList out).
func (p *Provider) DatabaseInstanceTags(ctx context.Context, instanceID string) (map[string]string, error) {
	if instanceID == "" {
		return nil, invalidInput("DescribeDBInstances", instanceID, "database instance id is required")
	}
	out, err := p.rds.DescribeDBInstances(ctx, &rds.DescribeDBInstancesInput{DBInstanceIdentifier: &instanceID})
	if err != nil {
		return nil, p.classify("DescribeDBInstances", instanceID, err)
	}
	if len(out.DBInstances) == 0 {
		return nil, p.notFound("DescribeDBInstances", instanceID)
	}
	inst := out.DBInstances[0]
	tags := inst.TagList
	// The SDK decodes an empty <TagList/> to an empty slice: only a description
	// without the element (older servers, some emulators) needs the second call.
	if tags == nil && inst.DBInstanceArn != nil {
		listed, err := p.rds.ListTagsForResource(ctx, &rds.ListTagsForResourceInput{ResourceName: inst.DBInstanceArn})
		if err != nil {
			return nil, p.classify("ListTagsForResource", instanceID, err)
		}
		tags = listed.TagList
	}
	m := make(map[string]string, len(tags))
	for _, t := range tags {
		m[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return m, nil
}

// BucketTags returns a bucket's tags; a bucket without a tag set has none. A missing
// bucket is KindNotFound (HeadBucket first: GetBucketTagging's NoSuchTagSet and
// NoSuchBucket would otherwise need telling apart on every S3-compatible server).
func (p *Provider) BucketTags(ctx context.Context, bucket string) (map[string]string, error) {
	if bucket == "" {
		return nil, invalidInput("GetBucketTagging", bucket, "bucket name is required")
	}
	if _, err := p.s3.HeadBucket(ctx, &s3.HeadBucketInput{Bucket: &bucket}); err != nil {
		return nil, p.classify("HeadBucket", bucket, err)
	}
	out, err := p.s3.GetBucketTagging(ctx, &s3.GetBucketTaggingInput{Bucket: &bucket})
	if err != nil {
		if code := errorCode(err); code == "NoSuchTagSet" || code == "NoSuchTagSetError" {
			return map[string]string{}, nil
		}
		return nil, p.classify("GetBucketTagging", bucket, err)
	}
	m := make(map[string]string, len(out.TagSet))
	for _, t := range out.TagSet {
		m[awssdk.ToString(t.Key)] = awssdk.ToString(t.Value)
	}
	return m, nil
}
