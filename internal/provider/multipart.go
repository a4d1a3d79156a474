package provider

// PartSize is the part size of a multipart copy of an object of size bytes: the
// configured size (at least minPart), grown in whole MiB when the object would
// otherwise need more than maxParts parts. The AWS provider copies with it and the
// fake computes the same multipart ETags from it.
func PartSize(size, configured, minPart, maxParts int64) int64 {
	partSize := max(configured, minPart)
	if (size+partSize-1)/partSize > maxParts {
		const mib = 1 << 20
		partSize = ((size+maxParts-1)/maxParts + mib - 1) / mib * mib
	}
	return partSize
}
