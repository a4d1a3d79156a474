package azure

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"maps"
	"strconv"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// SourceETagMetadataName is the blob metadata a staged copy writes on the destination:
// the source's identity. A blob committed from blocks has no Content-MD5 of its own
// unless the source had one, so a resumed copy recognises it by this name.
const SourceETagMetadataName = "lc2sourceetag"

// copyInBlocks copies a blob above the single-call limit with parallel Put Block From
// URL calls, one per range, and one Put Block List. Every range is read on the
// condition that the source still has the ETag read at the start, so a blob overwritten
// mid-copy fails instead of producing a mix of two versions. Block IDs derive from the
// source's name, ETag, size and block size: a retry after a failure or a restart finds
// the blocks it already staged (uncommitted, kept by Azure for a week) and stages only
// the others.
func (r *copyRun) copyInBlocks(ctx context.Context, job *copyJob) (objectOutcome, error) {
	src := r.p.blockBlob(r.req.SourceBucket, job.srcKey)
	props, err := src.GetProperties(ctx, nil)
	if err != nil {
		return r.copyFailed(ctx, "GetBlobProperties", job, err)
	}
	size := derefInt(props.ContentLength)
	var etag string
	if props.ETag != nil {
		etag = string(*props.ETag)
	}
	sourceIdentity := identity(props.ContentMD5, &etag)
	if job.existing {
		if dst, err := r.p.blobProperties(ctx, r.req.DestinationBucket, job.dstKey); err == nil && dst.metadata.Size == size &&
			(dst.metadata.ETag == sourceIdentity || dst.sourceETag == sourceIdentity) {
			job.file.ETag = dst.metadata.ETag
			return objectSkipped, nil
		}
	}

	srcURL, auth, err := r.p.sourceAccess(ctx, r.req.SourceBucket, job.srcKey)
	if err != nil {
		return objectCopied, err
	}
	blockSize := provider.PartSize(size, r.blockSize, MinBlockSize, MaxBlocks)
	ids := BlockIDs(job.srcKey, etag, size, blockSize)
	dst := r.p.blockBlob(r.req.DestinationBucket, job.dstKey)
	staged := r.p.stagedBlocks(ctx, dst)
	if err := r.stageBlocks(ctx, job, dst, srcURL, auth, azcore.ETag(etag), ids, staged, size, blockSize); err != nil {
		if errorCode(err) == bloberror.SourceConditionNotMet && r.sourceDeleted(ctx, job) {
			return objectVanished, nil
		}
		return r.copyFailed(ctx, "StageBlockFromURL", job, err)
	}

	metadata := maps.Clone(props.Metadata)
	if metadata == nil {
		metadata = map[string]*string{}
	}
	metadata[SourceETagMetadataName] = &sourceIdentity
	committed, err := dst.CommitBlockList(ctx, ids, &blockblob.CommitBlockListOptions{
		HTTPHeaders: &blob.HTTPHeaders{
			BlobContentType: props.ContentType, BlobContentEncoding: props.ContentEncoding,
			BlobContentLanguage: props.ContentLanguage, BlobContentDisposition: props.ContentDisposition,
			BlobCacheControl: props.CacheControl,
			// The blocks hold the source's bytes read under its ETag, so its MD5 is
			// theirs: the copy keeps the identity a listing reports.
			BlobContentMD5: props.ContentMD5,
		},
		Metadata:         metadata,
		AccessConditions: r.destinationCondition(),
	})
	if err != nil {
		return r.copyFailed(ctx, "CommitBlockList", job, err)
	}
	job.file.ETag = sourceIdentity
	if len(props.ContentMD5) == 0 && committed.ETag != nil {
		job.file.ETag = identity(nil, new(string(*committed.ETag)))
	}
	return objectCopied, nil
}

// sourceDeleted reports whether a source whose ETag condition failed mid-copy was
// deleted (a vanished blob) rather than overwritten (copied again on a retry).
func (r *copyRun) sourceDeleted(ctx context.Context, job *copyJob) bool {
	_, err := r.p.blobProperties(ctx, r.req.SourceBucket, job.srcKey)
	return provider.IsNotFound(err) && errorCode(err) != bloberror.ContainerNotFound
}

// BlockIDs are the block IDs of a staged copy of the source blob key with etag and
// size, in ranges of blockSize: all of one length, as Azure demands, and the same on
// every attempt for the same source version and block size.
func BlockIDs(key, etag string, size, blockSize int64) []string {
	sum := sha256.Sum256([]byte(key + "\x00" + etag + "\x00" + strconv.FormatInt(size, 10) + "\x00" + strconv.FormatInt(blockSize, 10)))
	version := hex.EncodeToString(sum[:12])
	count := int((size + blockSize - 1) / blockSize)
	ids := make([]string, count)
	for i := range ids {
		ids[i] = base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "lc2-%s-%06d", version, i))
	}
	return ids
}

// stagedBlocks returns the uncommitted blocks of dst by ID, with their sizes; any
// failure (no such blob yet included) means none.
func (p *Provider) stagedBlocks(ctx context.Context, dst *blockblob.Client) map[string]int64 {
	staged := map[string]int64{}
	list, err := dst.GetBlockList(ctx, blockblob.BlockListTypeUncommitted, nil)
	if err != nil {
		return staged
	}
	for _, b := range list.UncommittedBlocks {
		if b != nil && b.Name != nil {
			staged[*b.Name] = derefInt(b.Size)
		}
	}
	return staged
}

// stageBlocks stages every block not already staged with its range's size, at most
// BlockConcurrency at a time; the first failure stops the others.
func (r *copyRun) stageBlocks(ctx context.Context, job *copyJob, dst *blockblob.Client, srcURL string, auth *string, etag azcore.ETag, ids []string, staged map[string]int64, size, blockSize int64) error {
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	indexes := make(chan int)
	var (
		wg          sync.WaitGroup
		mu          sync.Mutex
		firstErr    error
		copiedBytes int64
	)
	for range min(r.p.opts.BlockConcurrency, len(ids)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range indexes {
				offset := int64(i) * blockSize
				count := min(blockSize, size-offset)
				if staged[ids[i]] != count {
					_, err := dst.StageBlockFromURL(ctx, ids[i], srcURL, &blockblob.StageBlockFromURLOptions{
						CopySourceAuthorization:        auth,
						Range:                          blob.HTTPRange{Offset: offset, Count: count},
						SourceModifiedAccessConditions: &blob.SourceModifiedAccessConditions{SourceIfMatch: &etag},
					})
					if err != nil {
						mu.Lock()
						if firstErr == nil {
							firstErr = err
						}
						mu.Unlock()
						cancel(err)
						continue
					}
				}
				r.bytesCopied.Add(count)
				mu.Lock()
				copiedBytes += count
				mu.Unlock()
				r.report()
			}
		}()
	}
feed:
	for i := range ids {
		select {
		case indexes <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(indexes)
	wg.Wait()
	if firstErr == nil && ctx.Err() != nil {
		firstErr = context.Cause(ctx)
	}
	if firstErr != nil {
		// These bytes will be copied again; progress must not count them twice.
		r.bytesCopied.Add(-copiedBytes)
	}
	return firstErr
}
