package aws

import (
	"math/rand/v2"
	"time"

	awssdk "github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
)

// extraRetryableCodes are S3 and RDS error codes worth another attempt that the SDK's
// standard retryer does not already cover (it covers 500/502/503/504, SlowDown and the
// Throttling family). CopyObject and UploadPartCopy can fail inside a 200 response; the
// SDK turns that into an error with one of these codes.
var extraRetryableCodes = map[string]struct{}{
	"InternalError":            {},
	"ServiceUnavailable":       {},
	"OperationAborted":         {},
	"RequestTimeTooSkewed":     {},
	"IDPCommunicationError":    {},
	"InternalFailure":          {},
	"EC2ThrottledException":    {},
	"ThrottlingException":      {},
	"TooManyRequestsException": {},
}

// newRetryer is the SDK standard retryer with two changes. Its client-side retry quota
// (a token bucket of 500 shared by every request of the client, 5 to 14 tokens per
// retry) is off: a copy of thousands of objects hitting one SlowDown burst would
// otherwise drain it in a few dozen retries and then fail healthy requests outright.
// And its backoff is full-jitter exponential with configurable bounds, so a throttled
// fleet of workers spreads out instead of retrying in lockstep.
func newRetryer(opts Options) awssdk.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = opts.MaxAttempts
		o.RateLimiter = ratelimit.None
		o.Backoff = fullJitterBackoff{base: opts.RetryBaseDelay, max: opts.RetryMaxDelay}
		o.Retryables = append(o.Retryables, retry.RetryableErrorCode{Codes: extraRetryableCodes})
	})
}

// fullJitterBackoff waits a uniformly random time in [0, min(max, base*2^attempt)).
type fullJitterBackoff struct {
	base, max time.Duration
}

// BackoffDelay implements retry.BackoffDelayer.
func (b fullJitterBackoff) BackoffDelay(attempt int, _ error) (time.Duration, error) {
	ceiling := b.max
	if attempt < 30 { // beyond that the shift overflows and the ceiling is max anyway
		if d := b.base << attempt; d > 0 && d < ceiling {
			ceiling = d
		}
	}
	if ceiling <= 0 {
		return 0, nil
	}
	return time.Duration(rand.Int64N(int64(ceiling))), nil
}
