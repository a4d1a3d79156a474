// Package azure implements provider.Provider on Azure Blob Storage: a bucket is a
// container of one storage account, an object a block blob. Copies are server-side
// (Copy Blob From URL up to the single-call limit, Put Block From URL ranges and Put
// Block List above it). There is no database service: database methods return
// KindNotSupported. It works the same against Azure and Azurite (set the account URL
// and a shared key); see docs/azure-provider.md.
package azure

import (
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/service"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Environment variables read when the matching Options field is empty.
const (
	// EnvAccountURL is the storage account's blob endpoint, for example
	// https://<account>.blob.core.windows.net or http://127.0.0.1:10000/devstoreaccount1.
	EnvAccountURL = "AZURE_STORAGE_ACCOUNT_URL"
	// EnvAccountName and EnvAccountKey select shared-key authentication (Azurite,
	// accounts that allow shared keys); without a key DefaultAzureCredential is used.
	EnvAccountName = "AZURE_STORAGE_ACCOUNT"
	EnvAccountKey  = "AZURE_STORAGE_KEY"
)

// Defaults used when an Options field (and the request's own field) is zero.
const (
	// DefaultCopyConcurrency is how many blobs a copy copies at once.
	DefaultCopyConcurrency = 64
	// DefaultBlockConcurrency is how many ranges of one large blob are staged at once.
	DefaultBlockConcurrency = 8
	// SingleCopyLimit is the largest blob one Copy Blob From URL may copy.
	SingleCopyLimit int64 = 256 << 20
	// DefaultBlockSize is the range each Put Block From URL copies.
	DefaultBlockSize int64 = 100 << 20
	// MinBlockSize is the smallest range the provider stages: smaller blocks only
	// multiply requests (Azure itself takes any size up to MaxBlockSize).
	MinBlockSize int64 = 4 << 20
	// MaxBlockSize is Put Block From URL's limit per call; MaxBlocks Azure's limit of
	// committed blocks per blob.
	MaxBlockSize int64 = 4000 << 20
	MaxBlocks          = 50000
	// DefaultMaxRetries, DefaultRetryDelay and DefaultMaxRetryDelay tune the SDK's
	// retry of throttled (503, 500 ServerBusy) and failed (5xx, network) requests.
	DefaultMaxRetries    = 9
	DefaultRetryDelay    = 200 * time.Millisecond
	DefaultMaxRetryDelay = 20 * time.Second
	// sourceAccessLifetime is how long a copy's source SAS stays valid: long enough for
	// one Put Block From URL of the largest block, short enough to be worthless soon after.
	sourceAccessLifetime = time.Hour
)

// Options configures the provider. The zero value reads the account URL from the
// environment and authenticates with DefaultAzureCredential.
type Options struct {
	// AccountURL is the storage account's blob endpoint (AZURE_STORAGE_ACCOUNT_URL).
	AccountURL string
	// AccountName and AccountKey select shared-key authentication
	// (AZURE_STORAGE_ACCOUNT, AZURE_STORAGE_KEY). Empty: DefaultAzureCredential
	// (workload identity, managed identity, environment, Azure CLI).
	AccountName string
	AccountKey  string

	// CopyConcurrency is the default number of blobs a copy copies at once.
	CopyConcurrency int
	// BlockConcurrency is the number of ranges of one blob staged at once.
	BlockConcurrency int
	// SingleCopyLimit is the size above which a blob is copied in ranges (Put Block
	// From URL); 0 means Azure's limit of Copy Blob From URL, 256 MiB. A request's
	// MultipartThreshold lowers it further.
	SingleCopyLimit int64
	// BlockSize is the default range of a staged copy; a request's PartSize overrides it.
	BlockSize int64
	// ListPageSize is the MaxResults of blob listings; 0 leaves the server default (5,000).
	ListPageSize int32

	// MaxRetries, RetryDelay and MaxRetryDelay tune the SDK's retries.
	MaxRetries    int32
	RetryDelay    time.Duration
	MaxRetryDelay time.Duration
	// Transport, when set, replaces the SDK's HTTP client (tests put a proxy here).
	Transport policy.Transporter
}

// Provider is the Azure implementation of provider.Provider. It is safe for concurrent use.
type Provider struct {
	// The database methods: there is no database service here.
	provider.NoDatabaseService
	service *service.Client
	opts    Options
	// account names the storage account in messages.
	account string
	// sharedKey signs the SAS of a copy's source; nil with a token credential.
	sharedKey *blob.SharedKeyCredential
	// token authorizes a copy's source (x-ms-copy-source-authorization); nil with a shared key.
	token azcore.TokenCredential
}

var _ provider.Provider = (*Provider)(nil)

// New builds a provider from opts, filling empty fields from the environment.
func New(opts Options) (*Provider, error) {
	opts = opts.withDefaults()
	if opts.AccountURL == "" {
		return nil, invalidInput("NewProvider", "account URL",
			"no Azure storage account configured: set "+EnvAccountURL+" or the account URL option (https://<account>.blob.core.windows.net)")
	}
	clientOpts := &service.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{MaxRetries: opts.MaxRetries, RetryDelay: opts.RetryDelay, MaxRetryDelay: opts.MaxRetryDelay},
	}}
	if opts.Transport != nil {
		clientOpts.Transport = opts.Transport
	} else {
		clientOpts.Transport = newHTTPClient(opts)
	}
	p := &Provider{NoDatabaseService: provider.NoDatabaseService{Message: noDatabaseMessage}, opts: opts, account: accountName(opts)}
	var err error
	if opts.AccountKey != "" {
		if p.sharedKey, err = blob.NewSharedKeyCredential(opts.AccountName, opts.AccountKey); err != nil {
			return nil, invalidInput("NewProvider", opts.AccountName, fmt.Sprintf("the shared key of storage account %s is unusable: %v", opts.AccountName, err))
		}
		p.service, err = service.NewClientWithSharedKeyCredential(opts.AccountURL, p.sharedKey, clientOpts)
	} else {
		if p.token, err = azidentity.NewDefaultAzureCredential(nil); err != nil {
			return nil, fmt.Errorf("load azure credentials: %w", err)
		}
		p.service, err = service.NewClient(opts.AccountURL, p.token, clientOpts)
	}
	if err != nil {
		return nil, fmt.Errorf("azure blob client for %s: %w", opts.AccountURL, err)
	}
	return p, nil
}

func (o Options) withDefaults() Options {
	fromEnv := func(field *string, name string) {
		if *field == "" {
			*field = os.Getenv(name)
		}
	}
	fromEnv(&o.AccountURL, EnvAccountURL)
	fromEnv(&o.AccountName, EnvAccountName)
	fromEnv(&o.AccountKey, EnvAccountKey)
	if o.AccountName == "" {
		o.AccountName = accountName(o)
	}
	if o.CopyConcurrency <= 0 {
		o.CopyConcurrency = DefaultCopyConcurrency
	}
	if o.BlockConcurrency <= 0 {
		o.BlockConcurrency = DefaultBlockConcurrency
	}
	if o.SingleCopyLimit <= 0 || o.SingleCopyLimit > SingleCopyLimit {
		o.SingleCopyLimit = SingleCopyLimit
	}
	if o.BlockSize <= 0 {
		o.BlockSize = DefaultBlockSize
	}
	if o.MaxRetries == 0 {
		o.MaxRetries = DefaultMaxRetries
	}
	if o.RetryDelay <= 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	if o.MaxRetryDelay <= 0 {
		o.MaxRetryDelay = DefaultMaxRetryDelay
	}
	return o
}

// accountName is the storage account the options name: AccountName, else the first
// label of the account URL's host (<account>.blob.core.windows.net), else its first
// path segment (the emulator's http://127.0.0.1:10000/<account>).
func accountName(o Options) string {
	if o.AccountName != "" {
		return o.AccountName
	}
	rest := o.AccountURL
	if _, after, ok := strings.Cut(rest, "://"); ok {
		rest = after
	}
	host, path, _ := strings.Cut(rest, "/")
	if first, _, _ := strings.Cut(path, "/"); first != "" {
		return first
	}
	name, _, _ := strings.Cut(host, ".")
	name, _, _ = strings.Cut(name, ":")
	return name
}

// newHTTPClient keeps enough idle connections for a copy at full concurrency, so
// parallel copies reuse connections instead of opening one per request.
func newHTTPClient(opts Options) *http.Client {
	idle := max(opts.CopyConcurrency+opts.BlockConcurrency, 100)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = idle
	transport.MaxIdleConnsPerHost = idle
	transport.IdleConnTimeout = 90 * time.Second
	return &http.Client{Transport: transport}
}

// errNoVersions is the cause of WalkObjectsAsOf's KindNotSupported error.
var errNoVersions = errors.New("the azure provider does not read blob versions")
