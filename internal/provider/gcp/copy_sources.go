package gcp

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"strconv"
	"strings"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// objectSource hands out the source objects of a copy: a listing of the source prefix,
// or the caller's list (req.Objects).
type objectSource interface {
	// Next returns the next object, or ok=false once there are no more; Err then tells
	// whether the source ended early.
	Next() (obj sourceObject, ok bool)
	Err() error
	// Stop releases the source; it is safe to call more than once.
	Stop()
}

// sourceObject is one object of a copy's source.
type sourceObject struct {
	key string
	// rel is the key written, relative to the destination prefix.
	rel string
	// versionID is the source generation to copy (decimal); empty copies the live one.
	versionID string
	size      int64
	etag      string
	modified  time.Time
}

// listSource is a walk of a prefix, pulled one object at a time. The client fetches a
// listing page when the previous one is used up, so memory stays at one page.
type listSource struct {
	prefix string
	next   func() (provider.ObjectMetadata, error, bool)
	stop   func()
	err    error
}

func (p *Provider) listObjects(ctx context.Context, bucket, prefix string) *listSource {
	next, stop := iter.Pull2(p.WalkObjects(ctx, bucket, prefix, provider.KeyRange{}))
	return &listSource{prefix: prefix, next: next, stop: stop}
}

func (s *listSource) Next() (sourceObject, bool) {
	if s.err != nil {
		return sourceObject{}, false
	}
	o, err, ok := s.next()
	if !ok {
		return sourceObject{}, false
	}
	if err != nil {
		s.err = err
		return sourceObject{}, false
	}
	return sourceObject{key: o.Key, rel: strings.TrimPrefix(o.Key, s.prefix), size: o.Size, etag: o.ETag, modified: o.LastModified}, true
}

func (s *listSource) Err() error { return s.err }
func (s *listSource) Stop()      { s.stop() }

// itemSource hands out a caller's list of objects to copy (req.Objects): a restore
// copies exactly what a backup's inventory lists, an incremental backup what its
// repository lacks, each item to the key it names.
type itemSource struct {
	prefix string
	next   func() (provider.CopyItem, error, bool)
	stop   func()
	err    error
}

func newItemSource(items iter.Seq2[provider.CopyItem, error], prefix string) *itemSource {
	next, stop := iter.Pull2(items)
	return &itemSource{prefix: prefix, next: next, stop: stop}
}

// Next returns the next item. Its rel is the item's DestinationKey, or else its key
// relative to the source prefix. The list ends at its first error, at an item without
// a key, at a key outside the source prefix that names no destination key, or at a
// version that is not a generation (KindInvalidInput errors).
func (s *itemSource) Next() (sourceObject, bool) {
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
	if o.VersionID != "" {
		if _, err := strconv.ParseInt(o.VersionID, 10, 64); err != nil {
			s.err = invalidItem(o.Key, fmt.Sprintf("object %s to copy names version %q, which is not a GCS generation", o.Key, o.VersionID))
			return sourceObject{}, false
		}
	}
	rel := item.DestinationKey
	if rel == "" {
		var under bool
		if rel, under = strings.CutPrefix(o.Key, s.prefix); !under {
			s.err = invalidItem(o.Key, fmt.Sprintf("object %s to copy is not under the source prefix %q", o.Key, s.prefix))
			return sourceObject{}, false
		}
	}
	return sourceObject{key: o.Key, rel: rel, versionID: o.VersionID, size: o.Size, etag: o.ETag, modified: o.LastModified}, true
}

func (s *itemSource) Err() error { return s.err }
func (s *itemSource) Stop()      { s.stop() }

// invalidItem is the KindInvalidInput error of an item the copy cannot place.
func invalidItem(key, msg string) error {
	return provider.NewError(provider.KindInvalidInput, "CopyObjectStorage", key, errors.New(msg)).WithMessage(msg)
}

// destinationIndex answers "is this key already at the destination?" by walking the
// destination listing in step with the source objects, both in key order, so neither
// is held in memory. A caller's list may come in any order: a key not above every key
// looked up before is answered "unknown", and the copy asks the store about it alone.
type destinationIndex struct {
	stream  *listSource
	current *existingObject
	done    bool
	last    string
	looked  bool
}

// existingObject is a destination object as the listing describes it.
type existingObject struct {
	rel  string
	size int64
	etag string
}

// Lookup returns the destination object with relative key rel, or nil, with known
// true; known is false for a key the walk has passed. It fails only when the
// destination listing failed.
func (d *destinationIndex) Lookup(rel string) (existing *existingObject, known bool, err error) {
	if d.looked && rel <= d.last {
		return nil, false, nil
	}
	d.last, d.looked = rel, true
	for !d.done && (d.current == nil || d.current.rel < rel) {
		obj, ok := d.stream.Next()
		if !ok {
			d.done, d.current = true, nil
			return nil, true, d.stream.Err()
		}
		d.current = &existingObject{rel: obj.rel, size: obj.size, etag: obj.etag}
	}
	if d.current != nil && d.current.rel == rel {
		return d.current, true, nil
	}
	return nil, true, nil
}
