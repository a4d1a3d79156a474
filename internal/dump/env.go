package dump

// The dumper's environment: the Job runner and the process runner set the same names,
// so the two share everything but the launch. Connection settings come from the
// connection Secret (the Job through valueFrom, never in args); the password is
// never logged, never in a message, never in dump.json.
const (
	// EnvEngine is postgres, mysql or mariadb; empty: asked of the server itself.
	EnvEngine = "LC2_DB_ENGINE"
	// EnvHost, EnvPort, EnvDatabase, EnvUser, EnvPassword and EnvSSLMode are the
	// Secret's keys host, port, database, user, password and sslmode.
	EnvHost     = "LC2_DB_HOST"
	EnvPort     = "LC2_DB_PORT"
	EnvDatabase = "LC2_DB_DATABASE"
	EnvUser     = "LC2_DB_USER"
	EnvPassword = "LC2_DB_PASSWORD"
	EnvSSLMode  = "LC2_DB_SSLMODE"
	// EnvAuth is "iam" for a login with an RDS IAM auth token the dumper mints itself
	// (EnvPassword is then not needed, and ignored); empty or "password": the
	// Secret's password.
	EnvAuth = "LC2_DB_AUTH"
	// EnvIAMRegion is the RDS instance's region, which an IAM token is signed for.
	EnvIAMRegion = "LC2_DB_IAM_REGION"
	// EnvSecretRef is "namespace/name" of the connection Secret, so that a message can
	// name the Secret and the key to fix (never a value).
	EnvSecretRef = "LC2_DB_SECRET_REF"

	// EnvProvider names the store (aws, gcp, azure), configured by that provider's own
	// environment (AWS_ENDPOINT_URL, AWS_REGION, ...).
	EnvProvider = "LC2_STORE_PROVIDER"
	// EnvBucket and EnvPrefix are the backup's bucket and prefix: the dump goes to
	// layout.DumpKey(prefix, ext) and its record to layout.DumpResultKey(prefix).
	EnvBucket = "LC2_DUMP_BUCKET"
	EnvPrefix = "LC2_DUMP_PREFIX"
	// EnvSourceSnapshot is the snapshot the dumped instance was restored from, recorded in dump.json.
	EnvSourceSnapshot = "LC2_DUMP_SOURCE_SNAPSHOT"
	// EnvRun is the run's token, which the dumper writes back as Result.Run, so the
	// controller never reads an earlier run's record as this one's.
	EnvRun = "LC2_DUMP_RUN"
	// EnvCompression is gzip (the default) or zstd, for a SQL dump.
	EnvCompression = "LC2_DUMP_COMPRESSION"
	// EnvConfirmNonEmpty "true" lets a restore load into a database that already has
	// tables (the RestoreRequest's confirm annotation).
	EnvConfirmNonEmpty = "LC2_RESTORE_CONFIRM_NON_EMPTY"
	// EnvExpectSHA256 is the dump's SHA-256 as the backup's sealed manifest records
	// it: a restore or a verify refuses a dump.json that records another.
	EnvExpectSHA256 = "LC2_DUMP_EXPECT_SHA256"
	// EnvRestoreRecordPrefix is the RestoreRequest's record prefix in EnvBucket: a
	// restore writes its result there (layout.RestoreResultKey), Succeeded or Failed,
	// for the controller to read. Empty: the result is only printed.
	EnvRestoreRecordPrefix = "LC2_RESTORE_RECORD_PREFIX"
)

// Secret keys of a connection Secret.
const (
	SecretKeyHost     = "host"
	SecretKeyPort     = "port"
	SecretKeyDatabase = "database"
	SecretKeyUser     = "user"
	SecretKeyPassword = "password"
	SecretKeySSLMode  = "sslmode"
	SecretKeyEngine   = "engine"
	// SecretKeyStoreAccessKeyID and SecretKeyStoreSecretAccessKey are the local
	// provider's store keys (optional): a dump Job runs in the backup's namespace and
	// cannot read the controller's own Secret, so it takes them from this one.
	SecretKeyStoreAccessKeyID     = "store-access-key-id"
	SecretKeyStoreSecretAccessKey = "store-secret-access-key"
)
