package gcp

import (
	"context"
	"io"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

var _ provider.StreamUploader = (*Provider)(nil)

// UploadStream implements provider.StreamUploader with a resumable upload in chunks
// of provider.StreamPartSize(req.SizeHint): the Writer holds one chunk in memory, to
// resend it on a retry, and a body shorter than a chunk goes in a single request.
// GCS creates the object only when the upload is finalised, so a failed one (the
// body's read error, a cancelled ctx, a failed chunk) cancels the Writer's context
// before Close: the session is abandoned, no object is created and the key keeps
// what it held. GCS expires an abandoned session after a week.
func (p *Provider) UploadStream(ctx context.Context, req provider.StreamUploadRequest) (*provider.StreamUploadResult, error) {
	if err := provider.CheckStreamUpload("objects.insert", req); err != nil {
		return nil, err
	}
	partSize := provider.StreamPartSize(req.SizeHint)
	body := provider.NewStreamBody(ctx, req.Body)
	writeCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := p.gcs.Bucket(req.Bucket).Object(req.Key).NewWriter(writeCtx)
	w.ChunkSize = int(partSize)
	w.ContentType = req.ContentTypeOrDefault()
	_, err := io.Copy(w, body)
	if err != nil {
		cancel() // before Close, which would otherwise finalise what was written
	}
	if cerr := w.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		if body.Err() != nil {
			return nil, body.ReadError("objects.insert", req.Bucket+"/"+req.Key, "gs://"+req.Bucket+"/"+req.Key)
		}
		return nil, classify("objects.insert", req.Bucket, req.Key, err)
	}
	res := &provider.StreamUploadResult{SizeBytes: body.Size(), ETag: etagOf(w.Attrs())}
	if res.SizeBytes >= partSize { // resumable, a request per chunk; shorter: one request
		res.PartSizeBytes = partSize
		res.Parts = int((res.SizeBytes + partSize - 1) / partSize)
	}
	return res, nil
}
