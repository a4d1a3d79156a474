package aws

import (
	"context"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// ListObjectsUpTo lists at most limit objects under prefix with one ListObjectsV2
// request (limit is capped at S3's page size of 1,000).
func (p *Provider) ListObjectsUpTo(ctx context.Context, bucket, prefix string, limit int) ([]provider.ObjectMetadata, error) {
	out, err := p.s3.ListObjectsV2(ctx, &s3.ListObjectsV2Input{
		Bucket: &bucket, Prefix: &prefix, MaxKeys: awssdk.Int32(int32(min(max(limit, 1), 1000))), EncodingType: s3types.EncodingTypeUrl,
	})
	if err != nil {
		return nil, classify("ListObjectsV2", bucket+"/"+prefix, err)
	}
	if err := decodeKeys(out.Contents, out.EncodingType, bucket+"/"+prefix); err != nil {
		return nil, err
	}
	objects := make([]provider.ObjectMetadata, 0, len(out.Contents))
	for _, o := range out.Contents {
		objects = append(objects, objectMetadata(o))
	}
	return objects[:min(len(objects), max(limit, 1))], nil
}
