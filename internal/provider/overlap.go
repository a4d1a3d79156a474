package provider

import "strings"

// PrefixesOverlap is true when one key prefix contains the other (the empty prefix
// contains every key): a listing of either then returns objects of the other.
func PrefixesOverlap(a, b string) bool {
	return strings.HasPrefix(a, b) || strings.HasPrefix(b, a)
}

// LocationsOverlap is true when two places, each a bucket and a key prefix, share
// keys: a copy from one to the other would list its own output or overwrite its input.
// The controller refuses such a request before its first write; the providers refuse
// the copy again as a guard.
func LocationsOverlap(bucketA, prefixA, bucketB, prefixB string) bool {
	return bucketA == bucketB && PrefixesOverlap(prefixA, prefixB)
}
