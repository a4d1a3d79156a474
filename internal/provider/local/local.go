// Package local is the on-premises provider (the design note's Local): an
// S3-compatible object store of its own (versitygw, MinIO, Ceph RGW) reached through
// the AWS provider's S3 code, and no managed database service. The database of a
// self-hosted Liferay is backed up as a dump through a connection Secret; every
// database-service method answers KindNotSupported, naming that way.
package local

import (
	"context"
	"errors"
	"fmt"

	"github.com/liferay/lc2-backup-controller/internal/provider"
	awsprovider "github.com/liferay/lc2-backup-controller/internal/provider/aws"
)

// Options configures the local store.
type Options struct {
	// Endpoint is the store's S3 endpoint (for example http://minio.storage:9000).
	Endpoint string
	// Region is the region the store answers to; empty: us-east-1, which most
	// S3-compatible servers accept.
	Region string
	// AccessKeyID and SecretAccessKey are the store's keys; empty: the AWS default
	// credential chain.
	AccessKeyID, SecretAccessKey string
	// S3 tunes the copy (concurrency, part sizes, retries) as on aws; its endpoint,
	// region and keys are replaced by the fields above.
	S3 awsprovider.Options
}

// OptionsFromEnv reads the store's settings from getenv (provider.EnvLocalS3*).
func OptionsFromEnv(getenv func(string) string) Options {
	return Options{Endpoint: getenv(provider.EnvLocalS3Endpoint), Region: getenv(provider.EnvLocalS3Region),
		AccessKeyID: getenv(provider.EnvLocalS3AccessKeyID), SecretAccessKey: getenv(provider.EnvLocalS3SecretAccessKey)}
}

// DefaultRegion is the region used when Options.Region is empty.
const DefaultRegion = "us-east-1"

// Provider is the local implementation of provider.Provider.
type Provider struct {
	// The database methods: NoDatabaseService's, one level shallower than the S3
	// provider's, so they win.
	provider.NoDatabaseService
	s3Store
	endpoint string
}

// s3Store is the AWS provider's S3 code, one embedding level down.
type s3Store struct{ *awsprovider.Provider }

var (
	_ provider.Provider       = (*Provider)(nil)
	_ provider.StreamUploader = (*Provider)(nil)
	_ provider.Describer      = (*Provider)(nil)
)

// New builds the provider on the store at opts.Endpoint.
func New(ctx context.Context, opts Options) (*Provider, error) {
	if opts.Endpoint == "" {
		return nil, provider.NewError(provider.KindInvalidInput, "NewProvider", "endpoint",
			errors.New("the local provider needs the S3 endpoint of the store: set --local-s3-endpoint (LOCAL_S3_ENDPOINT)"))
	}
	s3 := opts.S3
	s3.Endpoint, s3.Region, s3.UsePathStyle = opts.Endpoint, opts.Region, true
	if s3.Region == "" {
		s3.Region = DefaultRegion
	}
	s3.AccessKeyID, s3.SecretAccessKey = opts.AccessKeyID, opts.SecretAccessKey
	p, err := awsprovider.New(ctx, s3)
	if err != nil {
		return nil, fmt.Errorf("local store at %s: %w", opts.Endpoint, err)
	}
	return &Provider{NoDatabaseService: provider.NoDatabaseService{Message: noDatabaseMessage}, s3Store: s3Store{p}, endpoint: opts.Endpoint}, nil
}

// Capabilities: an object store only.
func (p *Provider) Capabilities() provider.Capabilities { return provider.Capabilities{} }

// BucketTagCommand tags the bucket on this store with the AWS CLI.
func (p *Provider) BucketTagCommand(bucket, key, value string) string {
	return provider.S3BucketTagCommand(bucket, key, value) + ", with --endpoint-url " + p.endpoint
}

// noDatabaseMessage is what every database-service method answers.
const noDatabaseMessage = "provider local has no managed database service: back the database up with spec.database.type: dump and spec.database.dump.connectionSecretRef"
