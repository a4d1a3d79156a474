package dump

import (
	"context"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/rds/auth"
)

// IAMAuth logs in to an RDS instance with an RDS IAM auth token instead of a stored
// password. A token is valid for 15 minutes to open a connection (an open one stays
// open), so one is minted right before each connection and each tool started, never
// ahead. Tokens are signed with the dumper's own AWS identity (the default credential
// chain: its service account's web identity in a Job), which the chain caches and
// refreshes; nothing of it is ever written out but as a tool's password.
type IAMAuth struct {
	// Region is the instance's region: the token is signed for it.
	Region string

	once  sync.Once
	creds aws.CredentialsProvider
	err   error
}

// NewIAMAuth is IAM authentication against an instance in region.
func NewIAMAuth(region string) *IAMAuth { return &IAMAuth{Region: region} }

// token mints a token for user at endpoint (host:port, as the client connects to it:
// RDS checks the token against that endpoint).
func (a *IAMAuth) token(ctx context.Context, endpoint, user string) (string, error) {
	a.once.Do(func() {
		cfg, err := config.LoadDefaultConfig(ctx, config.WithRegion(a.Region))
		a.creds, a.err = cfg.Credentials, err
	})
	if a.err != nil {
		return "", fail(ReasonAuthenticationFailed, a.err, "could not load the dumper's AWS identity to mint an RDS IAM token")
	}
	token, err := auth.BuildAuthToken(ctx, endpoint, a.Region, user, a.creds)
	if err != nil {
		return "", fail(ReasonAuthenticationFailed, err,
			"could not mint an RDS IAM token for user %q at %s in region %s: check the dumper's AWS identity (its service account)", user, endpoint, a.Region)
	}
	return token, nil
}

// secret is what conn logs in with at endpoint: the Secret's password, or with IAM
// a token minted now.
func (c *Connection) secret(ctx context.Context, endpoint string) (string, error) {
	if c.IAM == nil {
		return c.Password, nil
	}
	return c.IAM.token(ctx, endpoint, c.User)
}

// iamSSLMode is the sslmode an IAM login uses: RDS takes a token only over TLS, so
// require unless the Secret asks to verify the server too; a mode that may go
// without TLS is refused.
func (c *Connection) iamSSLMode() (string, error) {
	switch c.SSLMode {
	case "", "prefer", "require":
		return "require", nil
	case "verify-ca", "verify-full":
		return c.SSLMode, nil
	}
	return "", fail(ReasonMissingSetting, nil, "the connection setting %s is %q, but an RDS IAM token is sent only over TLS: use require, verify-ca or verify-full, or leave it out (require)",
		c.secretKey(SecretKeySSLMode, EnvSSLMode), c.SSLMode)
}
