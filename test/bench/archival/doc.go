// Package archival benchmarks the archival lag of internal/archiver: seconds from
// a BackupRequest's completion to its committed backup-history row, over 1,000
// backups against a real PostgreSQL (fsync on). Run it with hack/bench-archival.sh
// (make bench-archival); it is a benchmark, not a timed test.
package archival
