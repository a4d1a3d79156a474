package provider

// The environment variables of the local store's settings (provider local): the
// manager's flags default to them and the dumper reads them. Here, not in the local
// package, so the controller can name them without importing a cloud SDK. The keys
// come only from the environment: a Secret.
const (
	EnvLocalS3Endpoint        = "LOCAL_S3_ENDPOINT"
	EnvLocalS3Region          = "LOCAL_S3_REGION"
	EnvLocalS3AccessKeyID     = "LOCAL_S3_ACCESS_KEY_ID"
	EnvLocalS3SecretAccessKey = "LOCAL_S3_SECRET_ACCESS_KEY"
)
