package provider

import "fmt"

// Capabilities are what a store offers beyond the object operations every provider
// has. The controller asks for them before the first write, so a spec a store cannot
// serve is refused by name instead of failing half-way.
type Capabilities struct {
	// DatabaseSnapshots: the cloud has a managed database service whose snapshots back
	// `spec.database.type: snapshot` and restore into a new instance (RDS on aws).
	// Without it the database is backed up as a dump through a connection Secret.
	DatabaseSnapshots bool
}

// Describer is implemented by a provider that tells the controller what it can do and
// how its users set what the controller checks. A provider that does not implement it
// is taken to be AWS-shaped.
type Describer interface {
	// Capabilities reports what the store offers.
	Capabilities() Capabilities
	// BucketTagCommand is the command that gives bucket the ownership tag key=value,
	// in the store's own terms (a tag, a label, container metadata), quoted in the
	// refusal of a bucket that is not tagged so.
	BucketTagCommand(bucket, key, value string) string
}

// Regional is implemented by a provider whose database service lives in one region
// (aws, as its configuration loaded): an RDS IAM auth token is signed for it.
type Regional interface {
	Region() string
}

// RegionOf is p's region, "" for a provider without one.
func RegionOf(p Provider) string {
	if r, ok := p.(Regional); ok {
		return r.Region()
	}
	return ""
}

// CapabilitiesOf reports p's capabilities; a provider that does not describe itself
// has AWS's.
func CapabilitiesOf(p Provider) Capabilities {
	if d, ok := p.(Describer); ok {
		return d.Capabilities()
	}
	return Capabilities{DatabaseSnapshots: true}
}

// BucketTagCommand is the command that gives bucket the tag key=value on p's store.
func BucketTagCommand(p Provider, bucket, key, value string) string {
	if d, ok := p.(Describer); ok {
		return d.BucketTagCommand(bucket, key, value)
	}
	return S3BucketTagCommand(bucket, key, value)
}

// S3BucketTagCommand is the AWS CLI command that tags an S3 (or S3-compatible) bucket.
func S3BucketTagCommand(bucket, key, value string) string {
	return fmt.Sprintf("aws s3api put-bucket-tagging --bucket %s --tagging 'TagSet=[{Key=%s,Value=%s}]', keeping its other tags", bucket, key, value)
}
