package aws

import (
	"errors"
	"fmt"
	"iter"
	"strings"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// seqSource hands out a caller's list of objects to copy (req.Objects) instead of a
// listing of the source: a restore copies exactly what a backup's inventory lists, an
// incremental backup what its repository lacks, each item to the key it names.
type seqSource struct {
	prefix string
	next   func() (provider.CopyItem, error, bool)
	stop   func()
	err    error
}

func newSeqSource(items iter.Seq2[provider.CopyItem, error], prefix string) *seqSource {
	next, stop := iter.Pull2(items)
	return &seqSource{prefix: prefix, next: next, stop: stop}
}

// Next returns the next listed object. Its rel is the item's DestinationKey, or else
// its key relative to the source prefix. The list ends at its first error, at an item
// without a key, or at a key outside the source prefix that names no destination key
// (KindInvalidInput errors): the destination key could not be derived, and copying
// anything else the caller did not mean is worse than stopping.
func (s *seqSource) Next() (sourceObject, bool) {
	if s.err != nil {
		return sourceObject{}, false
	}
	item, err, ok := s.next()
	if !ok {
		return sourceObject{}, false
	}
	if err != nil {
		s.err = fmt.Errorf("read the objects to copy: %w", err)
		return sourceObject{}, false
	}
	o := item.Source
	if o.Key == "" {
		s.err = invalidItem("", "an object to copy has no source key")
		return sourceObject{}, false
	}
	rel := item.DestinationKey
	if rel == "" {
		var under bool
		if rel, under = strings.CutPrefix(o.Key, s.prefix); !under {
			s.err = invalidItem(o.Key, fmt.Sprintf("object %s to copy is not under the source prefix %q", o.Key, s.prefix))
			return sourceObject{}, false
		}
	}
	return sourceObject{
		key: o.Key, rel: rel, versionID: o.VersionID,
		size: o.Size, etag: normalizeETag(o.ETag), modified: o.LastModified,
	}, true
}

// Err is the error that ended the list, if any.
func (s *seqSource) Err() error { return s.err }

// invalidItem is the KindInvalidInput error of an item the copy cannot place.
func invalidItem(key, msg string) error {
	return provider.NewError(provider.KindInvalidInput, "CopyObjectStorage", key, errors.New(msg)).WithMessage(msg)
}
