package azure

import (
	"bytes"
	"context"
	"encoding/hex"
	"io"
	"iter"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// deleteBatchSize is Blob Batch's limit of subrequests per request.
const deleteBatchSize = 256

// blockBlob is the client of one blob of a container.
func (p *Provider) blockBlob(containerName, key string) *blockblob.Client {
	return p.service.NewContainerClient(containerName).NewBlockBlobClient(key)
}

// UploadObject writes data to container/key as one Put Blob, replacing what is there.
func (p *Provider) UploadObject(ctx context.Context, bucket, key string, data []byte) error {
	if bucket == "" || key == "" {
		return invalidInput("UploadBlob", bucket+"/"+key, "a container and a blob name are required to upload an object")
	}
	// The service computes and stores the blob's Content-MD5 on a single Put Blob: the
	// checksum identity listings report as the ETag.
	body := streaming.NopCloser(bytes.NewReader(data)) // read whole before Upload returns
	_, err := p.blockBlob(bucket, key).Upload(ctx, body, nil)
	return p.classify("UploadBlob", bucket+"/"+key, err)
}

// DownloadObject opens container/key for reading; the caller closes the reader.
func (p *Provider) DownloadObject(ctx context.Context, bucket, key string) (io.ReadCloser, error) {
	if bucket == "" || key == "" {
		return nil, invalidInput("DownloadBlob", bucket+"/"+key, "a container and a blob name are required to read an object")
	}
	out, err := p.blockBlob(bucket, key).DownloadStream(ctx, nil)
	if err != nil {
		return nil, p.classify("DownloadBlob", bucket+"/"+key, err)
	}
	return out.Body, nil
}

// ListObjects lists every blob under prefix, across all pages.
func (p *Provider) ListObjects(ctx context.Context, bucket, prefix string) ([]provider.ObjectMetadata, error) {
	var objects []provider.ObjectMetadata
	err := p.eachPage(ctx, bucket, prefix, provider.KeyRange{}, 0, func(page []listedBlob) error {
		for _, b := range page {
			objects = append(objects, b.metadata)
		}
		return nil
	})
	return objects, err
}

// ListObjectsUpTo lists at most limit blobs under prefix with one List Blobs request.
func (p *Provider) ListObjectsUpTo(ctx context.Context, bucket, prefix string, limit int) ([]provider.ObjectMetadata, error) {
	limit = min(max(limit, 1), 1000)
	var objects []provider.ObjectMetadata
	err := p.eachPage(ctx, bucket, prefix, provider.KeyRange{}, int32(limit), func(page []listedBlob) error {
		for _, b := range page {
			objects = append(objects, b.metadata)
		}
		return errStopListing
	})
	return objects[:min(len(objects), limit)], err
}

// WalkObjects streams the blobs under prefix whose names lie in keys, a page at a time.
func (p *Provider) WalkObjects(ctx context.Context, bucket, prefix string, keys provider.KeyRange) iter.Seq2[provider.ObjectMetadata, error] {
	return func(yield func(provider.ObjectMetadata, error) bool) {
		if bucket == "" {
			yield(provider.ObjectMetadata{}, invalidInput("ListBlobs", bucket+"/"+prefix, "a container is required to list objects"))
			return
		}
		ctx, cancel := context.WithCancel(ctx)
		defer cancel() // a caller stopping early ends the listing
		stream := p.streamBlobs(ctx, bucket, prefix, keys)
		for {
			b, ok := stream.Next()
			if !ok {
				break
			}
			if !yield(b.metadata, nil) {
				return
			}
		}
		if err := stream.Err(); err != nil {
			yield(provider.ObjectMetadata{}, err)
		}
	}
}

// DeleteObjects deletes the named blobs (snapshots included) with Blob Batch requests
// of up to deleteBatchSize deletes and returns how many it asked Azure to delete; a
// missing blob counts as deleted. Every name is checked before the first request, so a
// call with an empty name deletes nothing. A blob Azure refuses to delete fails the
// call with its name.
func (p *Provider) DeleteObjects(ctx context.Context, bucket string, keys []string) (int, error) {
	if bucket == "" {
		return 0, invalidInput("DeleteBlob", bucket, "refusing to delete without a container")
	}
	for _, k := range keys {
		if k == "" {
			return 0, invalidInput("DeleteBlob", bucket, "refusing to delete an empty blob name from container "+bucket)
		}
	}
	containerClient := p.service.NewContainerClient(bucket)
	deleted := 0
	for start := 0; start < len(keys); start += deleteBatchSize {
		batch := keys[start:min(start+deleteBatchSize, len(keys))]
		builder, err := containerClient.NewBatchBuilder()
		if err != nil {
			return deleted, p.classify("DeleteBlob", bucket+"/"+batch[0], err)
		}
		for _, key := range batch {
			opts := &container.BatchDeleteOptions{DeleteOptions: blob.DeleteOptions{DeleteSnapshots: new(blob.DeleteSnapshotsOptionTypeInclude)}}
			if err := builder.Delete(key, opts); err != nil {
				return deleted, p.classify("DeleteBlob", bucket+"/"+key, err)
			}
		}
		out, err := containerClient.SubmitBatch(ctx, builder, nil)
		if err != nil {
			return deleted, p.classify("DeleteBlob", bucket+"/"+batch[0], err)
		}
		for _, item := range out.Responses {
			if item.Error != nil && errorCode(item.Error) != bloberror.BlobNotFound {
				return deleted, p.classify("DeleteBlob", bucket+"/"+deref(item.BlobName), item.Error)
			}
		}
		deleted += len(batch)
	}
	return deleted, nil
}

// BucketTags returns the tags a container's metadata carries (see metadata.go). A
// missing container is KindNotFound.
func (p *Provider) BucketTags(ctx context.Context, bucket string) (map[string]string, error) {
	if bucket == "" {
		return nil, invalidInput("GetContainerProperties", bucket, "a container name is required to read its metadata")
	}
	props, err := p.service.NewContainerClient(bucket).GetProperties(ctx, nil)
	if err != nil {
		return nil, p.classify("GetContainerProperties", bucket, err)
	}
	return TagsFromMetadata(props.Metadata), nil
}

// BucketVersioning reports false for an existing container: blob versioning is a
// setting of the storage account (management plane), which the data-plane identity
// the provider runs with cannot read, and point-in-time copies from blob versions are
// not built (docs/azure-provider.md). A missing container is KindNotFound.
func (p *Provider) BucketVersioning(ctx context.Context, bucket string) (bool, error) {
	if bucket == "" {
		return false, invalidInput("GetContainerProperties", bucket, "a container name is required")
	}
	if _, err := p.service.NewContainerClient(bucket).GetProperties(ctx, nil); err != nil {
		return false, p.classify("GetContainerProperties", bucket, err)
	}
	return false, nil
}

// WalkObjectsAsOf is not supported: the provider does not read blob versions.
func (p *Provider) WalkObjectsAsOf(_ context.Context, bucket, prefix string, _ time.Time) iter.Seq2[provider.ObjectMetadata, error] {
	return func(yield func(provider.ObjectMetadata, error) bool) {
		msg := "the azure provider does not copy blobs as of a point in time (blob versions are not supported); container " + bucket + " is copied as it is"
		yield(provider.ObjectMetadata{}, provider.NewError(provider.KindNotSupported, "WalkObjectsAsOf", bucket+"/"+prefix, errNoVersions).WithMessage(msg))
	}
}

// listedBlob is one blob of a listing: its metadata as the provider reports it, and
// what a copy's destination check needs besides.
type listedBlob struct {
	metadata provider.ObjectMetadata
	// sourceETag is the checksum identity of the source an earlier staged copy wrote
	// this blob from (SourceETagMetadataName), if any.
	sourceETag string
}

// identity is the ETag the provider reports for a blob: its Content-MD5 in hex, which
// the service computes on a single Put Blob and a copy carries over, so the same bytes
// have the same identity in every container; else Azure's own ETag, unquoted.
func identity(contentMD5 []byte, etag *string) string {
	if len(contentMD5) > 0 {
		return hex.EncodeToString(contentMD5)
	}
	if etag == nil {
		return ""
	}
	return strings.Trim(*etag, `"`)
}

func fromBlobItem(item *container.BlobItem) listedBlob {
	b := listedBlob{metadata: provider.ObjectMetadata{Key: deref(item.Name)}}
	if props := item.Properties; props != nil {
		var etag *string
		if props.ETag != nil {
			s := string(*props.ETag)
			etag = &s
		}
		b.metadata.ETag = identity(props.ContentMD5, etag)
		b.metadata.Size = derefInt(props.ContentLength)
		if props.LastModified != nil {
			b.metadata.LastModified = *props.LastModified
		}
	}
	for name, value := range item.Metadata {
		if strings.EqualFold(name, SourceETagMetadataName) && value != nil {
			b.sourceETag = *value
		}
	}
	return b
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func derefInt(n *int64) int64 {
	if n == nil {
		return 0
	}
	return *n
}
