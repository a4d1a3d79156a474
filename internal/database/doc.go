// Package database keeps the backup history in PostgreSQL: the schema (embedded,
// versioned migrations applied at start under an advisory lock) and a lib/pq
// client for the archiver, retention and operators' queries.
//
// Connection settings come from the environment (ConfigFromEnv). The password is
// never part of a log line, an error or a Config's string form.
package database
