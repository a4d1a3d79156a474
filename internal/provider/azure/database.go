package azure

// noDatabaseMessage is what every database method answers (provider.NoDatabaseService):
// Azure Blob Storage has no database service, and the way to back up a database there
// is a logical dump.
const noDatabaseMessage = "the azure provider has no database snapshots; back up the database with a dump (spec.database.type: dump) instead"
