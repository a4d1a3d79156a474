package azure

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/sas"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// objectOutcome is what happened to one blob of a copy that did not fail.
type objectOutcome int

const (
	objectCopied objectOutcome = iota
	// objectSkipped: the destination already held this blob (a resumed copy).
	objectSkipped
	// objectVanished: the source blob was deleted after it was listed.
	objectVanished
	// objectKeptExisting: the name exists at the destination and SkipExisting forbids
	// replacing it.
	objectKeptExisting
)

// storageScope is the OAuth scope of a copy source's bearer token.
const storageScope = "https://storage.azure.com/.default"

// copyObject copies one blob: one Copy Blob From URL up to the threshold, staged
// ranges above it. Errors are classified *provider.Error values.
func (r *copyRun) copyObject(ctx context.Context, job *copyJob) (objectOutcome, error) {
	if job.headFirst {
		if outcome, done, err := r.checkDestination(ctx, job); done || err != nil {
			return outcome, err
		}
	}
	if job.size > r.threshold {
		return r.copyInBlocks(ctx, job)
	}
	srcURL, auth, err := r.p.sourceAccess(ctx, r.req.SourceBucket, job.srcKey)
	if err != nil {
		return objectCopied, err
	}
	dst := r.p.blockBlob(r.req.DestinationBucket, job.dstKey)
	out, err := dst.CopyFromURL(ctx, srcURL, &blob.CopyFromURLOptions{
		CopySourceAuthorization: auth,
		BlobAccessConditions:    r.destinationCondition(),
	})
	if err != nil {
		return r.copyFailed(ctx, "CopyFromURL", job, err)
	}
	if status := deref(out.CopyStatus); status != "" && status != string(blob.CopyStatusTypeSuccess) {
		// Copy Blob From URL is synchronous: any other status means the service did not
		// finish the copy in the call, and the blob is not there yet. Retrying copies
		// it again; taking it as copied would put a missing blob in the inventory.
		return objectCopied, r.copyNotDone(job, status)
	}
	r.bytesCopied.Add(job.size)
	if len(out.ContentMD5) > 0 {
		job.file.ETag = identity(out.ContentMD5, nil)
		return objectCopied, nil
	}
	// An answer without the Content-MD5 the blob carries over (its identity) leaves
	// reading it back.
	copied, err := r.p.blobProperties(ctx, r.req.DestinationBucket, job.dstKey)
	if err != nil {
		return objectCopied, err
	}
	job.file.ETag = copied.metadata.ETag
	return objectCopied, nil
}

// copyFailed sorts out a failed copy request: a vanished source or a name written by
// someone else under SkipExisting are outcomes, anything else the blob's error.
func (r *copyRun) copyFailed(ctx context.Context, op string, job *copyJob, err error) (objectOutcome, error) {
	switch {
	case sourceGone(err) || errorCode(err) == bloberror.ContainerNotFound:
		// A missing blob or container of either side: which one is missing decides
		// between a vanished source and a copy that cannot go on.
		if missing := r.missingContainer(ctx); missing != nil {
			return objectCopied, missing
		}
		if sourceGone(err) {
			return objectVanished, nil
		}
	case alreadyExists(err) && r.req.Existing == provider.SkipExisting:
		return objectKeptExisting, nil // written by someone else since the listing
	}
	return objectCopied, r.p.classify(op, r.req.SourceBucket+"/"+job.srcKey, err)
}

// missingContainer is the KindNotFound error of the copy's destination or source
// container when one does not exist, else nil. It asks once per copy: a copy that did
// not list its destination (Unchecked) or its source (Objects) has not found out
// otherwise, and Azure reports a missing source container like a missing source blob.
func (r *copyRun) missingContainer(ctx context.Context) error {
	r.containersOnce.Do(func() {
		check, cancel := context.WithTimeout(context.WithoutCancel(ctx), settleTimeout)
		defer cancel()
		for _, name := range []string{r.req.DestinationBucket, r.req.SourceBucket} {
			_, err := r.p.service.NewContainerClient(name).GetProperties(check, nil)
			if err != nil && kindOf(err) == provider.KindNotFound {
				r.containersErr = r.p.classify("GetContainerProperties", name, err)
				return
			}
		}
	})
	return r.containersErr
}

// sourceGone reports whether a copy failed because its source blob no longer exists:
// the service answers CannotVerifyCopySource with the status the source read got.
func sourceGone(err error) bool {
	code := errorCode(err)
	return code == bloberror.BlobNotFound || code == bloberror.CannotVerifyCopySource && statusCode(err) == http.StatusNotFound
}

// alreadyExists reports whether a write-once write (If-None-Match: *) found the blob.
func alreadyExists(err error) bool {
	code := errorCode(err)
	return code == bloberror.BlobAlreadyExists || code == bloberror.ConditionNotMet || code == bloberror.TargetConditionNotMet ||
		code == "" && statusCode(err) == http.StatusPreconditionFailed
}

// destinationCondition is the condition of a copy's writes: If-None-Match: * under
// SkipExisting, so the service itself refuses to replace a blob written after the
// destination was listed.
func (r *copyRun) destinationCondition() *blob.AccessConditions {
	if r.req.Existing != provider.SkipExisting {
		return nil
	}
	return &blob.AccessConditions{ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: new(azcore.ETagAny)}}
}

// checkDestination asks whether a blob the destination listing could not answer for
// is at the destination. done is true when it needs no copy: kept under SkipExisting,
// or already identical.
func (r *copyRun) checkDestination(ctx context.Context, job *copyJob) (outcome objectOutcome, done bool, err error) {
	dst, err := r.p.blobProperties(ctx, r.req.DestinationBucket, job.dstKey)
	if err != nil {
		if provider.IsNotFound(err) && errorCode(err) != bloberror.ContainerNotFound {
			return objectCopied, false, nil
		}
		return objectCopied, false, err
	}
	if r.req.Existing == provider.SkipExisting {
		return objectKeptExisting, true, nil
	}
	if sameBlob(dst, *job) {
		job.file.ETag = dst.metadata.ETag
		return objectSkipped, true, nil
	}
	job.existing = dst.metadata.Size == job.size
	return objectCopied, false, nil
}

// blobProperties reads one blob's size, identity and recorded source identity.
func (p *Provider) blobProperties(ctx context.Context, bucket, key string) (listedBlob, error) {
	props, err := p.blockBlob(bucket, key).GetProperties(ctx, nil)
	if err != nil {
		return listedBlob{}, p.classify("GetBlobProperties", bucket+"/"+key, err)
	}
	var etag *string
	if props.ETag != nil {
		s := string(*props.ETag)
		etag = &s
	}
	b := listedBlob{metadata: provider.ObjectMetadata{
		Key: key, Size: derefInt(props.ContentLength), ETag: identity(props.ContentMD5, etag),
	}}
	if props.LastModified != nil {
		b.metadata.LastModified = *props.LastModified
	}
	for name, value := range props.Metadata {
		if value != nil && strings.EqualFold(name, SourceETagMetadataName) {
			b.sourceETag = *value
		}
	}
	return b, nil
}

// sourceAccess returns the URL a copy reads bucket/key from and, with a token
// credential, the bearer token authorizing it (x-ms-copy-source-authorization). With a
// shared key the URL carries a read-only SAS valid for sourceAccessLifetime instead.
func (p *Provider) sourceAccess(ctx context.Context, bucket, key string) (string, *string, error) {
	source := p.service.NewContainerClient(bucket).NewBlobClient(key)
	if p.sharedKey != nil {
		u, err := source.GetSASURL(sas.BlobPermissions{Read: true}, time.Now().Add(sourceAccessLifetime), &blob.GetSASURLOptions{StartTime: new(time.Now().Add(-5 * time.Minute))})
		if err != nil {
			return "", nil, p.classify("CopyObjectStorage", bucket+"/"+key, err)
		}
		return u, nil, nil
	}
	token, err := p.token.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{storageScope}})
	if err != nil {
		msg := "no token to read the copy source " + bucket + "/" + key + " in storage account " + p.account + ": " + err.Error()
		return "", nil, provider.NewError(provider.KindAccessDenied, "CopyObjectStorage", bucket+"/"+key, err).WithMessage(msg)
	}
	return source.URL(), new("Bearer " + token.Token), nil
}

// copyNotDone is the KindTransient error of a synchronous copy that answered with a
// copy status other than success.
func (r *copyRun) copyNotDone(job *copyJob, status string) error {
	resource := r.req.SourceBucket + "/" + job.srcKey
	msg := fmt.Sprintf("copy of blob %s to %s/%s in storage account %s reported status %q instead of success; it will be retried",
		resource, r.req.DestinationBucket, job.dstKey, r.p.account, status)
	return provider.NewError(provider.KindTransient, "CopyFromURL", resource, errors.New(msg)).WithMessage(msg)
}
