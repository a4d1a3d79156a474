package azure

import (
	"context"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// streamConcurrency is how many blocks of a streamed upload are staged at once; the
// SDK keeps a buffer of one block for each, so an upload holds two blocks in memory.
const streamConcurrency = 2

var _ provider.StreamUploader = (*Provider)(nil)

// UploadStream implements provider.StreamUploader with the SDK's block blob
// UploadStream: blocks of provider.StreamPartSize(req.SizeHint) are staged and
// committed together with one Put Block List once the body reaches EOF; a body shorter
// than a block is one Put Blob. On any failure (the body's read error, a cancelled
// ctx, a failed block) nothing is committed: no blob appears and a blob already at the
// key keeps its content. The blocks staged before the failure stay uncommitted and
// invisible to readers and listings until Azure deletes them, a week after the last
// block was staged on that name: unlike S3's multipart uploads, they cannot be
// aborted.
func (p *Provider) UploadStream(ctx context.Context, req provider.StreamUploadRequest) (*provider.StreamUploadResult, error) {
	if err := provider.CheckStreamUpload("UploadBlob", req); err != nil {
		return nil, err
	}
	resource := req.Bucket + "/" + req.Key
	blockSize := provider.StreamPartSize(req.SizeHint)
	body := provider.NewStreamBody(ctx, req.Body)
	out, err := p.blockBlob(req.Bucket, req.Key).UploadStream(ctx, body, &blockblob.UploadStreamOptions{
		BlockSize:   blockSize,
		Concurrency: streamConcurrency,
		HTTPHeaders: &blob.HTTPHeaders{BlobContentType: new(req.ContentTypeOrDefault())},
	})
	if err != nil {
		if body.Err() != nil {
			return nil, body.ReadError("UploadBlob", resource, subject(resource))
		}
		return nil, p.classify(streamOperation(body.Size(), blockSize), resource, err)
	}
	res := &provider.StreamUploadResult{SizeBytes: body.Size()}
	if res.SizeBytes < blockSize {
		// One Put Blob: the service computed the Content-MD5 listings report.
		res.ETag = identity(out.ContentMD5, (*string)(out.ETag))
		return res, nil
	}
	// A committed block list has no Content-MD5 (the one in the answer is the block
	// list's): the blob's identity is its ETag, as listings report it.
	res.ETag = identity(nil, (*string)(out.ETag))
	res.PartSizeBytes = blockSize
	res.Parts = int((res.SizeBytes + blockSize - 1) / blockSize)
	return res, nil
}

// streamOperation names the request a streamed upload of size bytes failed in, for
// the error's message: Put Blob for a body within one block, else the block list.
func streamOperation(size, blockSize int64) string {
	if size < blockSize {
		return "UploadBlob"
	}
	return "CommitBlockList"
}
