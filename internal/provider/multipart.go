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

// Streamed uploads (StreamUploader) size their parts from the caller's hint.
const (
	// MinStreamPartSize is the smallest part of a streamed upload: S3's minimum part
	// size, used by every store so a dump's memory budget does not depend on the store.
	MinStreamPartSize int64 = 5 << 20
	// StreamPartBudget is how many parts the hint may fill: S3 allows 10,000, and the
	// slack keeps a body that outgrows its hint by a quarter within that limit.
	StreamPartBudget = 9000
)

// StreamPartSize is the part size of a streamed upload expected to be sizeHint bytes
// (0: unknown): MinStreamPartSize, grown in whole MiB until a body a quarter larger
// than the hint fits in StreamPartBudget parts. A store holds a few parts in memory at
// once, so the part size is what bounds an upload's memory.
func StreamPartSize(sizeHint int64) int64 {
	return PartSize(max(sizeHint, 0)+max(sizeHint, 0)/4, MinStreamPartSize, MinStreamPartSize, StreamPartBudget)
}
