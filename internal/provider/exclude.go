package provider

import (
	"fmt"
	"path"
	"strings"
)

// GeneratedFilePatterns are the document-library paths Liferay regenerates on demand,
// so a backup may leave them out (ObjectStorageCopyRequest.ExcludeGeneratedFiles).
//
// Liferay's stores (S3Store, FileSystemStore) keep a file at
// <companyId>/<dataRepositoryId>/<fileName>/<version>, where user documents have
// numeric data repository ids (the folder id, or the group id for a file at a
// repository's root: DLFolderConstants.getDataRepositoryId, not
// DLFileEntry.repositoryId) and numeric file names. Derived files live in the system repository
// (CompanyConstants.SYSTEM, id 0) under fixed folder names:
//
//   - document_thumbnail/: thumbnails written by DLPreviewableProcessor (images, PDFs,
//     office documents, videos).
//   - document_preview/: page and media previews written by the same processors
//     (PDF page images, video and audio transcodes).
//   - adaptive/: Adaptive Media image renditions (AMStoreUtil:
//     adaptive/<configurationUuid>/<groupId>/<repositoryId>/<fileEntryId>/<fileVersionId>/).
//
// Liferay rebuilds all three from the originals (Control Panel, Adaptive Media and
// DL preview regeneration), so excluding them never loses a user's data. The leading
// `**` lets the patterns match whether the copy starts above or at the company folder.
var GeneratedFilePatterns = []string{
	"**/0/document_thumbnail/**",
	"**/0/document_preview/**",
	"**/0/adaptive/**",
}

// Excluder decides which keys a copy leaves out. Keys are matched relative to the
// copy's source prefix. In a pattern, `*` matches within one path segment, `**` as a
// whole segment matches any number of segments (zero included), and a trailing `/`
// stands for everything below (`tmp/` is `tmp/**`).
type Excluder struct {
	patterns []globPattern
}

// globPattern is a pattern split into path segments; a "**" segment matches any
// number of whole segments, other segments use path.Match syntax (*, ?, [...]).
type globPattern struct {
	text     string
	segments []string
}

// NewExcluder compiles patterns, adding GeneratedFilePatterns when excludeGenerated is
// set. A malformed pattern is a KindInvalidInput error naming it.
func NewExcluder(patterns []string, excludeGenerated bool) (*Excluder, error) {
	all := append([]string(nil), patterns...)
	if excludeGenerated {
		all = append(all, GeneratedFilePatterns...)
	}
	e := &Excluder{}
	for _, p := range all {
		compiled, err := compileGlob(p)
		if err != nil {
			return nil, NewError(KindInvalidInput, "CompileExcludePattern", p, err).
				WithMessage(fmt.Sprintf("exclude pattern %q is invalid: %v", p, err))
		}
		e.patterns = append(e.patterns, compiled)
	}
	return e, nil
}

// Excluded reports whether relKey matches any exclusion pattern.
func (e *Excluder) Excluded(relKey string) bool {
	if e == nil || len(e.patterns) == 0 {
		return false
	}
	keySegments := strings.Split(relKey, "/")
	for _, p := range e.patterns {
		if p.match(keySegments) {
			return true
		}
	}
	return false
}

func compileGlob(pattern string) (globPattern, error) {
	if pattern == "" {
		return globPattern{}, fmt.Errorf("empty exclude pattern")
	}
	text := pattern
	if strings.HasSuffix(pattern, "/") {
		pattern += "**"
	}
	segments := strings.Split(pattern, "/")
	for _, s := range segments {
		if s == "**" {
			continue
		}
		// path.Match reports a malformed pattern only when it gets far enough to see it,
		// so probe with an input that forces a full scan.
		if _, err := path.Match(s, strings.Repeat("x", len(s)+1)); err != nil {
			return globPattern{}, fmt.Errorf("invalid exclude pattern %q: %w", text, err)
		}
		if _, err := path.Match(s, ""); err != nil {
			return globPattern{}, fmt.Errorf("invalid exclude pattern %q: %w", text, err)
		}
	}
	return globPattern{text: text, segments: segments}, nil
}

// match is the classic greedy wildcard algorithm with "**" as the star and one path
// segment as the unit; it runs in O(len(pattern) * len(key)) with no recursion.
func (p globPattern) match(key []string) bool {
	pi, ki := 0, 0
	starPi, starKi := -1, 0
	for ki < len(key) {
		switch {
		case pi < len(p.segments) && p.segments[pi] == "**":
			starPi, starKi = pi, ki
			pi++
		case pi < len(p.segments) && segmentMatch(p.segments[pi], key[ki]):
			pi++
			ki++
		case starPi >= 0:
			// Let the last "**" swallow one more segment and retry from there.
			starKi++
			pi, ki = starPi+1, starKi
		default:
			return false
		}
	}
	for pi < len(p.segments) && p.segments[pi] == "**" {
		pi++
	}
	return pi == len(p.segments)
}

func segmentMatch(pattern, segment string) bool {
	ok, err := path.Match(pattern, segment)
	return err == nil && ok
}
