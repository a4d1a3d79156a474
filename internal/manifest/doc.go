// Package manifest builds, seals and verifies the JSON manifest written next
// to every backup: which RDS snapshot and which document-library objects make
// up the backup, with a checksum that lets a restore detect any edit or
// corruption of the manifest before trusting it.
//
// The format, its versions and the checksum rule are specified in
// docs/manifest.md. Version 1.1 manifests (the ones Seal writes) hash the
// RFC 8785 canonical form of the manifest as written, so any language can
// recompute the checksum; version 1.0 manifests, hashed over Go's own
// encoding/json form, are still parsed and verified.
//
// A typical producer calls New, fills Database and DocumentLibrary (using
// DocumentLibraryInfo.AddFile while objects are copied), then Seal and
// Marshal. A consumer calls Verify on the bytes it read.
package manifest
