package aws

import (
	"context"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
)

// DatabaseInstanceTags returns the tags of an RDS instance (DescribeDBInstances, and
// ListTagsForResource where the description leaves TagList out).
func (p *Provider) DatabaseInstanceTags(ctx context.Context, instanceID string) (map[string]string, error) {
	if instanceID == "" {
		return nil, invalidInput("DescribeDBInstances", instanceID, "database instance id is required")
	}
	inst, err := p.describeInstance(ctx, instanceID)
	if err != nil {
		return nil, err
	}
	return inst.Settings.Tags, nil
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
