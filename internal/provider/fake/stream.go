package fake

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// StreamState is where an UploadStream call is.
type StreamState string

const (
	// StreamInFlight: the body is still being read; S3 would hold the parts so far.
	StreamInFlight StreamState = "InFlight"
	// StreamStored: the body reached EOF and the object was stored.
	StreamStored StreamState = "Stored"
	// StreamAborted: the upload failed and was aborted; nothing of it remains.
	StreamAborted StreamState = "Aborted"
)

// StreamUpload is one UploadStream call as the fake saw it.
type StreamUpload struct {
	Bucket, Key string
	State       StreamState
	// Parts is how many parts had been read when the upload was stored or aborted.
	Parts int
}

// StreamUploads returns every UploadStream call so far, in order.
func (p *Provider) StreamUploads() []StreamUpload {
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Clone(p.streams)
}

// UnfinishedUploads returns the keys of bucket with an upload still in flight: on S3,
// the multipart uploads whose parts are stored and billed (ListMultipartUploads).
func (p *Provider) UnfinishedUploads(bucket string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var keys []string
	for _, s := range p.streams {
		if s.Bucket == bucket && s.State == StreamInFlight {
			keys = append(keys, s.Key)
		}
	}
	return keys
}

var _ provider.StreamUploader = (*Provider)(nil)

// UploadStream implements provider.StreamUploader as the AWS provider does: the body
// is read a part of provider.StreamPartSize(req.SizeHint) at a time, a body shorter
// than one part is stored as a single put (an MD5 ETag), a longer one as a multipart
// upload (S3's multipart ETag). The object is stored only once the body reaches EOF
// without error and ctx is still live; otherwise the upload is aborted and the key is
// left as it was.
func (p *Provider) UploadStream(ctx context.Context, req provider.StreamUploadRequest) (*provider.StreamUploadResult, error) {
	if err := p.enter(ctx, "UploadStream"); err != nil {
		return nil, err
	}
	if err := provider.CheckStreamUpload("PutObject", req); err != nil {
		return nil, err
	}
	resource := req.Bucket + "/" + req.Key
	p.mu.Lock()
	if p.objects[req.Bucket] == nil {
		p.mu.Unlock()
		return nil, fakeError(provider.KindNotFound, "CreateMultipartUpload", resource, "bucket "+req.Bucket+" does not exist")
	}
	p.streams = append(p.streams, StreamUpload{Bucket: req.Bucket, Key: req.Key, State: StreamInFlight})
	index := len(p.streams) - 1
	p.mu.Unlock()

	partSize := provider.StreamPartSize(req.SizeHint)
	body := provider.NewStreamBody(ctx, req.Body)
	data, parts, err := readParts(ctx, body, partSize)
	if err == nil {
		err = ctx.Err() // S3 would fail CompleteMultipartUpload
	}

	p.mu.Lock()
	defer p.mu.Unlock()
	p.streams[index].Parts = parts
	if err != nil {
		p.streams[index].State = StreamAborted
		if body.Err() != nil {
			return nil, body.ReadError("UploadStream", resource, "s3://"+resource)
		}
		return nil, provider.NewError(provider.KindTransient, "UploadStream", resource, fmt.Errorf("upload stopped: %w", err)).
			WithMessage("UploadStream on s3://" + resource + " cancelled")
	}
	p.streams[index].State = StreamStored
	res := &provider.StreamUploadResult{SizeBytes: int64(len(data))}
	if int64(len(data)) < partSize {
		p.store(req.Bucket, req.Key, data)
		res.ETag = etagOf(data)
		return res, nil
	}
	res.ETag, res.Parts, res.PartSizeBytes = multipartETag(data, partSize), parts, partSize
	p.put(req.Bucket, req.Key, &object{data: data, etag: res.ETag, modified: p.Clock.Now()})
	return res, nil
}

// readParts reads body to EOF a part at a time, as the AWS provider's transfer
// manager does, and stops at the first read error or once ctx is done between parts.
func readParts(ctx context.Context, body io.Reader, partSize int64) (data []byte, parts int, err error) {
	var buf bytes.Buffer
	for {
		if err := ctx.Err(); err != nil {
			return nil, parts, err
		}
		n, err := io.CopyN(&buf, body, partSize)
		if n > 0 {
			parts++
		}
		if err == io.EOF {
			return buf.Bytes(), parts, nil
		}
		if err != nil {
			return nil, parts, err
		}
	}
}
