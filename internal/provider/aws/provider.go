// Package aws implements provider.Provider on Amazon Web Services: RDS manual
// snapshots for the database and server-side S3 copies for the document library.
// It works the same against AWS and S3/RDS emulators (moto, versitygw): set
// AWS_ENDPOINT_URL (or Options.Endpoint) and addressing switches to path style.
package aws

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/rds"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Defaults used when an Options field (and the request's own field) is zero.
const (
	// DefaultCopyConcurrency is the ceiling of a copy's requests in flight (CopyObject
	// and UploadPartCopy share it). Server-side copies of small objects are latency
	// bound, so throughput grows with concurrency until the store pushes back (about
	// 3,500 writes/s per prefix on S3): each copy finds its own working concurrency
	// below this ceiling (see adaptive.go), so the ceiling can be high.
	DefaultCopyConcurrency = 512
	// DefaultPartConcurrency is the most parts of one large object copied at once; the
	// parts take their slots from the copy's shared budget.
	DefaultPartConcurrency = 8
	// SingleCopyLimit is the largest object one CopyObject call may copy on S3.
	SingleCopyLimit int64 = 5 << 30
	// DefaultPartSize is the multipart copy part size; it grows for objects that would
	// otherwise need more than MaxParts parts.
	DefaultPartSize int64 = 128 << 20
	// MinPartSize and MaxParts are S3's multipart limits.
	MinPartSize int64 = 5 << 20
	MaxParts          = 10000
	// DefaultMaxAttempts is how many times one request is tried before its error is final.
	DefaultMaxAttempts = 10
	// DefaultRetryBaseDelay and DefaultRetryMaxDelay bound the jittered exponential backoff.
	DefaultRetryBaseDelay = 200 * time.Millisecond
	DefaultRetryMaxDelay  = 20 * time.Second
)

// Options configures the provider. The zero value is the production configuration.
type Options struct {
	// Region overrides the region of the default chain (AWS_REGION, the shared profile).
	Region string
	// Endpoint overrides AWS_ENDPOINT_URL, for emulators.
	Endpoint string
	// UsePathStyle forces path-style S3 addressing. It is switched on automatically
	// whenever a custom endpoint is set (Endpoint, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_S3),
	// because emulators rarely serve virtual-hosted bucket names.
	UsePathStyle bool
	// AccessKeyID and SecretAccessKey, when both set, replace the default credential
	// chain (an S3-compatible store of its own, such as the local provider's).
	AccessKeyID, SecretAccessKey string

	// CopyConcurrency is the default ceiling of a copy's requests in flight; the copy
	// adapts its concurrency below it (adaptive.go).
	CopyConcurrency int
	// CopyRequestsPerSecond caps the requests per second of all copies of this
	// provider together (every attempt of every request a copy makes, retries
	// included), so one big backup cannot take all of a bucket's request rate from the
	// live application; 0 means no cap.
	CopyRequestsPerSecond float64
	// PartConcurrency is the number of parts of one object copied at once.
	PartConcurrency int
	// MultipartThreshold is the default size above which objects are copied in parts.
	MultipartThreshold int64
	// PartSize is the default multipart part size.
	PartSize int64
	// ListPageSize is the MaxKeys of ListObjectsV2 and ListObjectVersions; 0 leaves the
	// server default (1,000).
	ListPageSize int32

	// MaxAttempts, RetryBaseDelay and RetryMaxDelay tune the retry of throttled (SlowDown,
	// 503) and failed (5xx, network) requests.
	MaxAttempts    int
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
}

// Provider is the AWS implementation of provider.Provider. It is safe for concurrent use.
type Provider struct {
	s3   *s3.Client
	rds  *rds.Client
	opts Options
	// copyRate is the cap of Options.CopyRequestsPerSecond, shared by every copy; nil
	// without a cap.
	copyRate *rateCap
	// region is the configuration's region, named in error messages about RDS resources.
	region string
}

var _ provider.Provider = (*Provider)(nil)

// New loads the default AWS configuration (environment, shared profile, web identity
// for IRSA, instance role) and builds a provider from it.
func New(ctx context.Context, opts Options) (*Provider, error) {
	opts = opts.withDefaults()
	loaders := []func(*config.LoadOptions) error{
		config.WithRetryer(func() awssdk.Retryer { return newRetryer(opts) }),
		config.WithHTTPClient(newHTTPClient(opts)),
	}
	if opts.Region != "" {
		loaders = append(loaders, config.WithRegion(opts.Region))
	}
	if opts.Endpoint != "" {
		loaders = append(loaders, config.WithBaseEndpoint(opts.Endpoint))
	}
	if opts.AccessKeyID != "" && opts.SecretAccessKey != "" {
		loaders = append(loaders, config.WithCredentialsProvider(credentials.NewStaticCredentialsProvider(opts.AccessKeyID, opts.SecretAccessKey, "")))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loaders...)
	if err != nil {
		return nil, fmt.Errorf("load aws configuration: %w", err)
	}
	if cfg.Region == "" {
		return nil, invalidInput("LoadConfig", "region", "no AWS region configured: set AWS_REGION or the region option")
	}
	return NewFromConfig(cfg, opts), nil
}

// Region is the configuration's region, where the RDS instances are: an RDS IAM
// auth token for one of them is signed for it.
func (p *Provider) Region() string { return p.region }

// NewFromConfig builds a provider from an already loaded configuration. The
// configuration's retryer and HTTP client are used as they are.
func NewFromConfig(cfg awssdk.Config, opts Options) *Provider {
	opts = opts.withDefaults()
	pathStyle := opts.UsePathStyle || cfg.BaseEndpoint != nil || os.Getenv("AWS_ENDPOINT_URL_S3") != ""
	s3Client := s3.NewFromConfig(cfg, func(o *s3.Options) {
		o.UsePathStyle = pathStyle
		// Checksums only where S3 demands them: PutObject of small manifests does not
		// need a CRC trailer, and several S3-compatible servers reject aws-chunked bodies.
		o.RequestChecksumCalculation = awssdk.RequestChecksumCalculationWhenRequired
		o.ResponseChecksumValidation = awssdk.ResponseChecksumValidationWhenRequired
		o.DisableLogOutputChecksumValidationSkipped = true
		// Copies observe each attempt (adaptive concurrency) and wait for the rate cap.
		o.APIOptions = append(o.APIOptions, addPacingMiddleware)
	})
	return &Provider{s3: s3Client, rds: rds.NewFromConfig(cfg), opts: opts, region: cfg.Region, copyRate: newRateCap(opts.CopyRequestsPerSecond)}
}

func (o Options) withDefaults() Options {
	if o.CopyConcurrency <= 0 {
		o.CopyConcurrency = DefaultCopyConcurrency
	}
	if o.PartConcurrency <= 0 {
		o.PartConcurrency = DefaultPartConcurrency
	}
	if o.MultipartThreshold <= 0 {
		o.MultipartThreshold = SingleCopyLimit
	}
	if o.PartSize <= 0 {
		o.PartSize = DefaultPartSize
	}
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = DefaultMaxAttempts
	}
	if o.RetryBaseDelay <= 0 {
		o.RetryBaseDelay = DefaultRetryBaseDelay
	}
	if o.RetryMaxDelay <= 0 {
		o.RetryMaxDelay = DefaultRetryMaxDelay
	}
	return o
}

// newHTTPClient keeps enough idle connections for a copy at its concurrency ceiling
// (parts included: they share that budget), plus a few for the listings: the SDK's
// default of 10 per host makes a parallel copy open and close a connection per
// request, which costs a TLS handshake each time and piles up TIME_WAIT sockets. A copy
// that settles below its ceiling uses fewer; the others close after IdleConnTimeout.
func newHTTPClient(opts Options) *awshttp.BuildableClient {
	idle := opts.CopyConcurrency + opts.PartConcurrency
	if idle < 100 {
		idle = 100
	}
	return awshttp.NewBuildableClient().WithTransportOptions(func(t *http.Transport) {
		t.MaxIdleConns = idle
		t.MaxIdleConnsPerHost = idle
		t.IdleConnTimeout = 90 * time.Second
	})
}
