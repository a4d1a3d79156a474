// Package gcp implements provider.Provider on Google Cloud Storage: server-side
// copies with objects.rewrite, bucket labels as ownership tags, object generations
// for point-in-time copies. It has no database service: the database methods answer
// KindNotSupported (database dumps are the way on Google Cloud).
//
// It works the same against GCS and fake-gcs-server: set STORAGE_EMULATOR_HOST (or
// Options.Endpoint) and the client talks to the emulator without credentials.
package gcp

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"cloud.google.com/go/storage"
	gax "github.com/googleapis/gax-go/v2"
	"google.golang.org/api/option"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Defaults used when an Options field (and the request's own field) is zero.
const (
	// DefaultCopyConcurrency is the number of rewrites a copy keeps in flight. A
	// same-location rewrite is one short call per object, so throughput is latency
	// bound and grows with concurrency.
	DefaultCopyConcurrency = 64
	// MinPartSize is S3's multipart minimum. GCS copies an object of any size with
	// rewrite and has no parts, but a request naming a smaller part size is refused as
	// on AWS, so a spec valid on one store is valid on every store.
	MinPartSize int64 = 5 << 20
	// DefaultMaxAttempts is how many times the client tries one request before its
	// error is final.
	DefaultMaxAttempts = 10
	// DefaultRetryBaseDelay and DefaultRetryMaxDelay bound the client's jittered
	// exponential backoff.
	DefaultRetryBaseDelay = 200 * time.Millisecond
	DefaultRetryMaxDelay  = 20 * time.Second
	// DefaultRewriteResumes is how many times one object's rewrite is resumed with
	// its token after the client gave up on a call.
	DefaultRewriteResumes = 3
)

// emulatorHostEnv is the variable the Cloud Storage client reads to talk to an
// emulator without credentials.
const emulatorHostEnv = "STORAGE_EMULATOR_HOST"

// Options configures the provider. The zero value is the production configuration:
// Application Default Credentials (workload identity on GKE) against
// storage.googleapis.com.
type Options struct {
	// Endpoint is an emulator's base URL (for example http://127.0.0.1:4443). It
	// wins over STORAGE_EMULATOR_HOST; either one switches credentials off.
	Endpoint string
	// CopyConcurrency is the default number of rewrites a copy keeps in flight.
	CopyConcurrency int
	// ListPageSize is the page size of object listings; 0 leaves the server's
	// (1,000).
	ListPageSize int
	// MaxAttempts, RetryBaseDelay and RetryMaxDelay tune the client's retry of 429,
	// 5xx and network failures.
	MaxAttempts    int
	RetryBaseDelay time.Duration
	RetryMaxDelay  time.Duration
	// RewriteResumes is how many times a rewrite the client gave up on is resumed
	// from its last token, within one copy.
	RewriteResumes int
}

func (o Options) withDefaults() Options {
	if o.CopyConcurrency <= 0 {
		o.CopyConcurrency = DefaultCopyConcurrency
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
	if o.RewriteResumes <= 0 {
		o.RewriteResumes = DefaultRewriteResumes
	}
	return o
}

// Provider is the Google Cloud implementation of provider.Provider. It is safe for
// concurrent use.
type Provider struct {
	// The database methods: there is no database service here.
	provider.NoDatabaseService
	gcs  *storage.Client
	opts Options
}

var _ provider.Provider = (*Provider)(nil)

// New builds a provider: against Options.Endpoint or STORAGE_EMULATOR_HOST without
// credentials when one is set, else with Application Default Credentials.
func New(ctx context.Context, opts Options) (*Provider, error) {
	// Reads through the JSON API, like every other call: one API to grant, and the
	// one emulators serve fully.
	clientOpts := []option.ClientOption{storage.WithJSONReads()}
	if opts.Endpoint != "" {
		clientOpts = append(clientOpts, option.WithEndpoint(emulatorEndpoint(opts.Endpoint)), option.WithoutAuthentication())
	} else if os.Getenv(emulatorHostEnv) != "" {
		// The client itself switches to the emulator and drops credentials.
		clientOpts = append(clientOpts, option.WithoutAuthentication())
	}
	client, err := storage.NewClient(ctx, clientOpts...)
	if err != nil {
		return nil, fmt.Errorf("create cloud storage client: %w", err)
	}
	return NewFromClient(client, opts), nil
}

// NewFromClient builds a provider on an existing client. Its retry settings are
// replaced by the provider's: every call is retried, since every write the provider
// makes is an overwrite with the same bytes, a conditional write or a delete that
// counts a missing object as deleted.
func NewFromClient(client *storage.Client, opts Options) *Provider {
	opts = opts.withDefaults()
	client.SetRetry(
		storage.WithPolicy(storage.RetryAlways),
		storage.WithMaxAttempts(opts.MaxAttempts),
		storage.WithBackoff(gax.Backoff{Initial: opts.RetryBaseDelay, Max: opts.RetryMaxDelay, Multiplier: 2}),
	)
	return &Provider{NoDatabaseService: provider.NoDatabaseService{Message: noDatabaseMessage}, gcs: client, opts: opts}
}

// Close releases the client's connections.
func (p *Provider) Close() error { return p.gcs.Close() }

// emulatorEndpoint is the JSON API root of an emulator's base URL.
func emulatorEndpoint(base string) string {
	base = strings.TrimRight(base, "/")
	if strings.HasSuffix(base, "/storage/v1") {
		return base + "/"
	}
	return base + "/storage/v1/"
}
