package provider

import (
	"context"
	"errors"
	"fmt"
	"io"
)

// DefaultStreamContentType is the content type of a streamed upload that names none.
const DefaultStreamContentType = "application/octet-stream"

// StreamBody is the body of a streamed upload as a store reads it: it counts the bytes
// read and keeps the body's own read error, so a store can tell a failing body (a
// dump that broke off) from a failing store, and report the size it stored. Once the
// upload's context is done it reads no more, so an upload library that goes on reading
// after its requests failed stops. It hides the body's other methods (Seek, WriteTo,
// Len), so every body is read as a stream of unknown length. One goroutine reads it at
// a time.
type StreamBody struct {
	ctx  context.Context
	body io.Reader
	n    int64
	err  error
}

// NewStreamBody wraps body, read for an upload running under ctx.
func NewStreamBody(ctx context.Context, body io.Reader) *StreamBody {
	return &StreamBody{ctx: ctx, body: body}
}

// Read reads from the body, counting the bytes and keeping the first error other than
// io.EOF; once ctx is done it returns ctx's error, which is not the body's.
func (b *StreamBody) Read(p []byte) (int, error) {
	if err := b.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := b.body.Read(p)
	b.n += int64(n)
	if err != nil && !errors.Is(err, io.EOF) && b.err == nil {
		b.err = err
	}
	return n, err
}

// Size is how many bytes have been read.
func (b *StreamBody) Size() int64 { return b.n }

// Err is the body's first read error other than io.EOF, or nil.
func (b *StreamBody) Err() error { return b.err }

// ReadError is the error of an upload aborted because its body failed to read:
// the body's own error (returned unchanged when it is already a *Error), wrapped so
// KindOf and errors.Is see through it. object names the destination for people
// ("s3://bucket/key").
func (b *StreamBody) ReadError(op, resource, object string) error {
	var classified *Error
	if errors.As(b.err, &classified) {
		return b.err
	}
	return NewError(KindTransient, op, resource, fmt.Errorf("read the body of the upload: %w", b.err)).
		WithMessage(fmt.Sprintf("the upload to %s was aborted: reading its body failed after %d bytes: %v", object, b.n, b.err))
}

// CheckStreamUpload refuses a streamed upload that can never succeed, with the
// KindInvalidInput error a store returns before calling its API; nil when req is fine.
func CheckStreamUpload(op string, req StreamUploadRequest) error {
	if req.Bucket == "" || req.Key == "" || len(req.Key) > MaxKeyBytes || req.Body == nil || req.SizeHint < 0 {
		msg := fmt.Sprintf("a bucket, a key of 1 to %d bytes, a body and a size hint of 0 or more are required to upload a stream", MaxKeyBytes)
		return NewError(KindInvalidInput, op, req.Bucket+"/"+req.Key, errors.New(msg)).WithMessage(msg)
	}
	return nil
}

// ContentTypeOrDefault is req's content type, or DefaultStreamContentType.
func (req StreamUploadRequest) ContentTypeOrDefault() string {
	if req.ContentType == "" {
		return DefaultStreamContentType
	}
	return req.ContentType
}
