package aws

import (
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// seqSource hands out a caller's list of objects to copy (req.Objects) instead of a
// listing of the source: a restore copies exactly what a backup's inventory lists.
type seqSource struct {
	prefix string
	next   func() (provider.ObjectMetadata, error, bool)
	stop   func()
	err    error
}

func newSeqSource(objects iter.Seq2[provider.ObjectMetadata, error], prefix string) *seqSource {
	next, stop := iter.Pull2(objects)
	return &seqSource{prefix: prefix, next: next, stop: stop}
}

// Next returns the next listed object. The list ends at its first error, or at a key
// outside the source prefix (a KindInvalidInput error): its destination key could not
// be derived, and copying anything else the caller did not mean is worse than stopping.
func (s *seqSource) Next() (sourceObject, bool) {
	if s.err != nil {
		return sourceObject{}, false
	}
	o, err, ok := s.next()
	if !ok {
		return sourceObject{}, false
	}
	if err != nil {
		s.err = fmt.Errorf("read the objects to copy: %w", err)
		return sourceObject{}, false
	}
	rel, under := strings.CutPrefix(o.Key, s.prefix)
	if !under {
		msg := fmt.Sprintf("object %s to copy is not under the source prefix %q", o.Key, s.prefix)
		s.err = provider.NewError(provider.KindInvalidInput, "CopyObjectStorage", o.Key, errors.New(msg)).WithMessage(msg)
		return sourceObject{}, false
	}
	return sourceObject{key: o.Key, rel: rel, size: o.Size, etag: normalizeETag(o.ETag), modified: o.LastModified}, true
}

// Err is the error that ended the list, if any.
func (s *seqSource) Err() error { return s.err }
