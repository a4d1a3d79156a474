package repository

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"regexp"
	"slices"
	"strings"

	"golang.org/x/sync/errgroup"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// An Incremental backup lists the library and learns what the repository holds, which
// at a few tens of milliseconds a page is most of a nightly run's time when little has
// changed. Each listing is split into key ranges listed in parallel; the bounds of the
// ranges are the listing hints the previous backup of the same library left in the
// repository, chosen so each range fits about one page. The bounds only speed the
// listing up: the ranges always cover every key, so stale, missing or unreadable hints
// change the time, never what is listed. The hints also name the backup that wrote
// them, whose inventory the next backup takes as the repository's index (storedIndex).
const (
	// ListingDir holds the listing hints, one object per source library.
	ListingDir = "listing/"
	// listingHintsVersion is the hints format version.
	listingHintsVersion = "1"
	// rangeKeys is how many keys a range is sized for: under a ListObjectsV2 page (1,000
	// keys) with room for a night's growth, so a range is one request.
	rangeKeys = 900
	// sampleEvery is how often a listing notes a key as a possible bound.
	sampleEvery = 100
	// maxRanges bounds the ranges of one listing, so the hints stay small.
	maxRanges = 256
	// listWorkers is how many ranges of one listing are listed at once.
	listWorkers = 32
)

// defaultRepositoryBounds split a repository listed without hints by the first hex digit
// of its stored keys, which spread evenly.
var defaultRepositoryBounds = func() []string {
	var bounds []string
	for _, d := range "123456789abcdef" {
		bounds = append(bounds, ObjectsDir+string(d))
	}
	return bounds
}()

// listingHints is the record of where the last listings of a library and of the
// repository split into ranges.
type listingHints struct {
	Version      string `json:"version"`
	SourceBucket string `json:"sourceBucket"`
	SourcePrefix string `json:"sourcePrefix"`
	// Source bounds the ranges of the library's listing: full keys, in order.
	Source []string `json:"source"`
	// Repository bounds the ranges of the repository's listing, relative to its prefix.
	Repository []string `json:"repository"`
	// Index names the backup that wrote the hints, whose inventory the next backup may
	// take as the index of the repository instead of listing it.
	Index *indexHint `json:"index,omitempty"`
}

// indexHint names a backup by its reference record's UID and its destination prefix.
type indexHint struct {
	UID    string `json:"uid"`
	Prefix string `json:"prefix"`
}

// ListingHintsKey is the key of the listing hints of a library, relative to the
// repository prefix.
func ListingHintsKey(sourceBucket, sourcePrefix string) string {
	sum := sha256.Sum256([]byte("lc2-listing-v1\x00" + sourceBucket + "\x00" + sourcePrefix))
	return ListingDir + hex.EncodeToString(sum[:16]) + ".json"
}

var listingHintsKeyPattern = regexp.MustCompile(`^listing/[0-9a-f]{32}\.json$`)

// IsListingHintsKey reports whether rel (relative to the repository prefix) is a
// listing hints key as ListingHintsKey names them.
func IsListingHintsKey(rel string) bool { return listingHintsKeyPattern.MatchString(rel) }

// readListingHints returns the hints the last backup of the library left, or none.
// Hints that are missing, of another library or not in order are none: the listing is
// then slower, not different. A failed read is an error like any other S3 failure.
func readListingHints(ctx context.Context, prov provider.Provider, opts BackupOptions) (listingHints, error) {
	data, err := provider.ReadSmallObject(ctx, prov, opts.Bucket, opts.Prefix+ListingHintsKey(opts.SourceBucket, opts.SourcePrefix))
	if provider.IsNotFound(err) {
		return listingHints{}, nil
	}
	if err != nil {
		return listingHints{}, fmt.Errorf("read the listing hints of the repository s3://%s/%s: %w", opts.Bucket, opts.Prefix, err)
	}
	var h listingHints
	if json.Unmarshal(data, &h) != nil || h.Version != listingHintsVersion ||
		h.SourceBucket != opts.SourceBucket || h.SourcePrefix != opts.SourcePrefix {
		return listingHints{}, nil
	}
	if !validBounds(h.Source, opts.SourcePrefix) {
		h.Source = nil
	}
	if !validBounds(h.Repository, ObjectsDir) {
		h.Repository = nil
	}
	return h, nil
}

// validBounds reports whether bounds are in strictly increasing order, at most
// maxRanges-1 of them, all under prefix.
func validBounds(bounds []string, prefix string) bool {
	if len(bounds) >= maxRanges {
		return false
	}
	for i, b := range bounds {
		if !strings.HasPrefix(b, prefix) || (i > 0 && b <= bounds[i-1]) {
			return false
		}
	}
	return true
}

// writeListingHints records the bounds for the next backup of the library.
func writeListingHints(ctx context.Context, prov provider.Provider, opts BackupOptions, h listingHints) error {
	h.Version, h.SourceBucket, h.SourcePrefix = listingHintsVersion, opts.SourceBucket, opts.SourcePrefix
	data, err := json.Marshal(h)
	if err != nil {
		return fmt.Errorf("encode listing hints: %w", err)
	}
	key := opts.Prefix + ListingHintsKey(opts.SourceBucket, opts.SourcePrefix)
	if err := prov.UploadObject(ctx, opts.Bucket, key, append(data, '\n')); err != nil {
		return fmt.Errorf("write the listing hints s3://%s/%s: %w", opts.Bucket, key, err)
	}
	return nil
}

// keyRanges are the ranges bounds split the key space into: up to the first bound,
// between each two, and after the last. Together they hold every key once.
func keyRanges(bounds []string) []provider.KeyRange {
	ranges := make([]provider.KeyRange, 0, len(bounds)+1)
	after := ""
	for _, b := range bounds {
		ranges = append(ranges, provider.KeyRange{StartAfter: after, Through: b})
		after = b
	}
	return append(ranges, provider.KeyRange{StartAfter: after})
}

// sample is a key a listing noted, with how many keys it listed since the last note.
type sample struct {
	key  string
	keys int
}

// listRanges lists the ranges of bounds, listWorkers at a time, and hands each object
// to found: concurrently across ranges, in key order within one. The first error stops
// every range. It returns the bounds for the next listing of the same keys.
func listRanges(ctx context.Context, bounds []string, walk func(context.Context, provider.KeyRange) iter.Seq2[provider.ObjectMetadata, error],
	found func(provider.ObjectMetadata) error) ([]string, error) {
	ranges := keyRanges(bounds)
	samples := make([][]sample, len(ranges))
	g, ctx := errgroup.WithContext(ctx)
	g.SetLimit(listWorkers)
	for i, r := range ranges {
		g.Go(func() error {
			keys, last := 0, ""
			for o, err := range walk(ctx, r) {
				if err != nil {
					return err
				}
				if err := found(o); err != nil {
					return err
				}
				keys, last = keys+1, o.Key
				if keys == sampleEvery {
					samples[i] = append(samples[i], sample{key: last, keys: keys})
					keys = 0
				}
			}
			if keys > 0 {
				samples[i] = append(samples[i], sample{key: last, keys: keys})
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, err
	}
	return nextBounds(slices.Concat(samples...)), nil
}

// nextBounds picks, from a listing's samples in key order, bounds that cut it into
// ranges of at most rangeKeys keys (a sample is never more than sampleEvery apart),
// thinned to maxRanges ranges.
func nextBounds(samples []sample) []string {
	var bounds []string
	keys := 0
	for i, s := range samples {
		keys += s.keys
		if i+1 < len(samples) && keys+samples[i+1].keys > rangeKeys {
			bounds = append(bounds, s.key)
			keys = 0
		}
	}
	if len(bounds) >= maxRanges {
		step := (len(bounds) + maxRanges - 2) / (maxRanges - 1)
		thinned := make([]string, 0, maxRanges-1)
		for i := step - 1; i < len(bounds); i += step {
			thinned = append(thinned, bounds[i])
		}
		bounds = thinned
	}
	return bounds
}
