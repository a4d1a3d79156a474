// Package inventory writes and reads a backup's full inventory: one JSON line per
// stored object (source key, stored key, size, ETag, checksum where known), gzip
// compressed, in parts of at most PartEntries lines, each part in source-key order. The copy writes parts as it goes,
// so the inventory never needs the whole object list in memory and a failed or
// cancelled copy still leaves a record of every object it wrote: cleanup deletes
// only what an inventory lists. The files a backup makes rather than copies (a
// database dump and its record) are listed in a part of their own (WritePart).
package inventory

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"

	"k8s.io/utils/clock"

	"github.com/liferay/lc2-backup-controller/internal/layout"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// Defaults of a Writer.
const (
	// PartEntries is the most lines one part holds.
	PartEntries = 10000
	// FlushInterval is the longest a stored object waits before its line is written,
	// which bounds what a crash leaves unrecorded.
	FlushInterval = 5 * time.Second
)

// Entry is one stored object.
type Entry struct {
	// SourceKey is the object's key in the source bucket; empty for a file the backup
	// made rather than copied (Made).
	SourceKey string `json:"sourceKey"`
	// StoredKey is the object's key relative to the backup's destination prefix
	// (always under "data/"), or for an Incremental backup relative to its repository
	// prefix (always under "objects/").
	StoredKey string `json:"storedKey"`
	// Size is the object's size in bytes.
	Size int64 `json:"size"`
	// ETag is the stored object's ETag, without quotes.
	ETag string `json:"etag"`
	// SourceETag is the source object's ETag when it was copied.
	SourceETag string `json:"sourceEtag,omitempty"`
	// SourceVersionID is the source object's version, when the backup read a versioned
	// bucket as of a point in time.
	SourceVersionID string `json:"sourceVersionId,omitempty"`
	// Checksum is a full-object checksum ("crc64nvme:…", "sha256:…") when the store reported one.
	Checksum string `json:"checksum,omitempty"`
}

// FromStored is the entry of an object a copy stored, with its key made relative to
// prefix (the backup's destination, its repository, or "" for a restore's target keys).
func FromStored(o provider.StoredObject, prefix string) Entry {
	return Entry{
		SourceKey: o.SourceKey, StoredKey: strings.TrimPrefix(o.Key, prefix), Size: o.Size,
		ETag: o.ETag, SourceETag: o.SourceETag, SourceVersionID: o.SourceVersionID, Checksum: o.Checksum,
	}
}

// Made is the entry of an object the backup made itself rather than copied (a
// database dump, its record): it has no source key, its size and ETag are what the
// store lists, and checksum ("sha256:<hex>") is the SHA-256 read back from the
// stored object, since the store reports none for an upload.
func Made(o provider.ObjectMetadata, prefix, checksum string) Entry {
	return Entry{StoredKey: strings.TrimPrefix(o.Key, prefix), Size: o.Size, ETag: o.ETag, Checksum: checksum}
}

// WritePart uploads entries, in stored-key order, as the whole part at key (relative
// to prefix), replacing what is there: for a list the backup knows at once, unlike a
// copy's, so it is written in one go and again whole if its files change.
func WritePart(ctx context.Context, up Uploader, bucket, prefix, key string, entries []Entry) (Part, error) {
	sorted := slices.Clone(entries)
	slices.SortFunc(sorted, func(a, b Entry) int { return strings.Compare(a.StoredKey, b.StoredKey) })
	data, part, err := encode(sorted)
	if err != nil {
		return Part{}, err
	}
	part.Key = key
	if err := up.UploadObject(ctx, bucket, prefix+key, data); err != nil {
		return Part{}, fmt.Errorf("write inventory part s3://%s/%s%s: %w", bucket, prefix, key, err)
	}
	return part, nil
}

// Part describes one written part.
type Part struct {
	// Key is relative to the destination prefix.
	Key string
	// SHA256 is "sha256:" + the hex SHA-256 of the part's bytes as stored.
	SHA256  string
	Objects int64
	Bytes   int64
}

// Summary is what a run's inventory holds.
type Summary struct {
	Run     string
	Parts   []Part
	Objects int64
	Bytes   int64
}

// Uploader stores one small object.
type Uploader interface {
	UploadObject(ctx context.Context, bucket, key string, data []byte) error
}

// Writer accumulates entries of one copy run and uploads them as parts under
// <prefix>inventory/. It is safe for concurrent use.
type Writer struct {
	up             Uploader
	bucket, prefix string
	run            string
	clock          clock.PassiveClock
	partEntries    int
	flushInterval  time.Duration

	mu        sync.Mutex
	pending   []Entry
	lastFlush time.Time
	summary   Summary
	err       error
}

// NewWriter starts the inventory of run under prefix in bucket.
func NewWriter(up Uploader, bucket, prefix, run string, clk clock.PassiveClock) *Writer {
	return &Writer{up: up, bucket: bucket, prefix: prefix, run: run, clock: clk,
		partEntries: PartEntries, flushInterval: FlushInterval, lastFlush: clk.Now(), summary: Summary{Run: run}}
}

// Add records e and uploads a part when enough entries are pending or the oldest has
// waited FlushInterval. An upload failure is kept and returned by Close.
func (w *Writer) Add(ctx context.Context, e Entry) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.pending = append(w.pending, e)
	if len(w.pending) >= w.partEntries || w.clock.Now().Sub(w.lastFlush) >= w.flushInterval {
		w.flushLocked(ctx)
	}
}

// Close uploads what is pending and returns the run's summary.
func (w *Writer) Close(ctx context.Context) (Summary, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.pending) > 0 {
		w.flushLocked(ctx)
	}
	s := w.summary
	s.Parts = append([]Part(nil), w.summary.Parts...)
	return s, w.err
}

func (w *Writer) flushLocked(ctx context.Context) {
	w.lastFlush = w.clock.Now()
	if w.err != nil || len(w.pending) == 0 {
		return
	}
	// Copies finish out of listing order; a part in source-key order (the order of
	// the keys a restore writes) lets a restore that skips existing keys walk the
	// destination listing in step with the entries, in one forward pass instead of a
	// HeadObject for each straggler. For a Full backup it is also stored-key order.
	sortBySourceKey(w.pending)
	data, part, err := encode(w.pending)
	if err != nil {
		w.err = err
		return
	}
	part.Key = layout.PartKey(w.run, len(w.summary.Parts))
	if err := w.up.UploadObject(ctx, w.bucket, w.prefix+part.Key, data); err != nil {
		w.err = fmt.Errorf("write inventory part s3://%s/%s%s: %w", w.bucket, w.prefix, part.Key, err)
		return
	}
	w.summary.Parts = append(w.summary.Parts, part)
	w.summary.Objects += part.Objects
	w.summary.Bytes += part.Bytes
	w.pending = w.pending[:0]
}

func sortBySourceKey(entries []Entry) {
	slices.SortFunc(entries, func(a, b Entry) int { return strings.Compare(a.SourceKey, b.SourceKey) })
}

// encode writes entries as gzip-compressed JSON Lines.
func encode(entries []Entry) ([]byte, Part, error) {
	var buf bytes.Buffer
	// BestSpeed: a backup writes its parts while it copies, and most of a nightly
	// Incremental backup's own CPU went to compressing them at the default level.
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestSpeed)
	if err != nil {
		return nil, Part{}, fmt.Errorf("compress inventory part: %w", err)
	}
	enc := json.NewEncoder(zw)
	enc.SetEscapeHTML(false)
	var part Part
	for i := range entries {
		if err := enc.Encode(&entries[i]); err != nil {
			return nil, part, fmt.Errorf("encode inventory entry: %w", err)
		}
		part.Objects++
		part.Bytes += entries[i].Size
	}
	if err := zw.Close(); err != nil {
		return nil, part, fmt.Errorf("compress inventory part: %w", err)
	}
	part.SHA256 = Checksum(buf.Bytes())
	return buf.Bytes(), part, nil
}

// Checksum is "sha256:" + the hex SHA-256 of data.
func Checksum(data []byte) string {
	sum := sha256.Sum256(data)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Read decodes one part (as stored: compressed) and calls fn for every entry.
func Read(data []byte, fn func(Entry) error) (Part, error) {
	part := Part{SHA256: Checksum(data)}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return part, fmt.Errorf("read inventory part: %w", err)
	}
	// zr reads memory: Close frees nothing, and a broken stream already fails the scan.
	defer func() { _ = zr.Close() }()
	sc := bufio.NewScanner(zr)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var e Entry
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&e); err != nil {
			return part, fmt.Errorf("read inventory part: line %d: %w", part.Objects+1, err)
		}
		if e.StoredKey == "" {
			return part, fmt.Errorf("read inventory part: line %d has no storedKey", part.Objects+1)
		}
		part.Objects++
		part.Bytes += e.Size
		if err := fn(e); err != nil {
			return part, err
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return part, fmt.Errorf("read inventory part: %w", err)
	}
	return part, nil
}
