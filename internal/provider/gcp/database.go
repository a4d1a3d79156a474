package gcp

// noDatabaseMessage says why every database method fails and what to use instead
// (provider.NoDatabaseService).
const noDatabaseMessage = "the gcp provider has no database snapshots: back the database up with a dump (spec.database.type: dump)"
