package azure

import (
	"context"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// fixedToken is a token credential that records the scopes it was asked for.
type fixedToken struct{ scopes []string }

func (f *fixedToken) GetToken(_ context.Context, opts policy.TokenRequestOptions) (azcore.AccessToken, error) {
	f.scopes = opts.Scopes
	return azcore.AccessToken{Token: "workload-token", ExpiresOn: time.Now().Add(time.Hour)}, nil
}

func TestWithoutAKeyTheProviderUsesDefaultAzureCredential(t *testing.T) {
	t.Setenv(EnvAccountKey, "")
	t.Setenv(EnvAccountName, "")
	p, err := New(Options{AccountURL: "https://acme.blob.core.windows.net"})
	if err != nil {
		t.Fatal(err)
	}
	if p.token == nil || p.sharedKey != nil || p.account != "acme" {
		t.Fatalf("provider without a key: token %v, shared key %v, account %q; want DefaultAzureCredential on acme", p.token, p.sharedKey, p.account)
	}
	t.Setenv(EnvAccountURL, "")
	if _, err := New(Options{}); err == nil {
		t.Fatal("a provider without an account URL was built")
	}
}

// Azurite's OAuth needs HTTPS, so the token path is checked where the provider builds
// the copy source: the plain blob URL with the controller's own bearer token for
// x-ms-copy-source-authorization, never a SAS.
func TestTokenCredentialAuthorizesTheSourceWithABearerToken(t *testing.T) {
	t.Setenv(EnvAccountKey, "")
	p, err := New(Options{AccountURL: "https://acme.blob.core.windows.net"})
	if err != nil {
		t.Fatal(err)
	}
	token := &fixedToken{}
	p.token = token
	source, auth, err := p.sourceAccess(context.Background(), "documents", "dl/a b+c.pdf")
	if err != nil {
		t.Fatal(err)
	}
	if auth == nil || *auth != "Bearer workload-token" || !slices.Equal(token.scopes, []string{storageScope}) {
		t.Fatalf("source authorization %v with scopes %q, want the bearer token of %s", auth, token.scopes, storageScope)
	}
	u, err := url.Parse(source)
	if err != nil || u.RawQuery != "" || u.Host != "acme.blob.core.windows.net" || u.Path != "/documents/dl/a b+c.pdf" {
		t.Fatalf("source URL %q, want the blob's own URL without a SAS", source)
	}
}

func TestSharedKeyAuthorizesTheSourceWithAReadOnlySAS(t *testing.T) {
	p := newTestProvider(t, Options{})
	source, auth, err := p.sourceAccess(context.Background(), "documents", "dl/a")
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(source)
	if err != nil || auth != nil {
		t.Fatalf("source %q, authorization %v; want a SAS URL and no header", source, auth)
	}
	q := u.Query()
	expiry, err := time.Parse(time.RFC3339, q.Get("se"))
	if q.Get("sp") != "r" || q.Get("sig") == "" || err != nil || time.Until(expiry) > sourceAccessLifetime {
		t.Fatalf("SAS %q: want read-only, signed, expiring within %v", u.RawQuery, sourceAccessLifetime)
	}
}
