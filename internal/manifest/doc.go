// Package manifest builds, seals and verifies the JSON manifest written next
// to every backup: which RDS snapshot and which document-library objects make
// up the backup, with a checksum that lets a restore detect any edit or
// corruption of the manifest before trusting it.
//
// A typical producer calls New, fills Database and DocumentLibrary (using
// DocumentLibraryInfo.AddFile while objects are copied), then Seal and
// Marshal. A consumer calls Verify on the bytes it read.
package manifest
