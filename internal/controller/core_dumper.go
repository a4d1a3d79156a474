package controller

import (
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	backupv1alpha1 "github.com/liferay/lc2-backup-controller/api/backup/v1alpha1"
	"github.com/liferay/lc2-backup-controller/internal/dump"
	"github.com/liferay/lc2-backup-controller/internal/dumprun"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

// The dumper's runs, shared by backups (dump) and restores (load, verify): a run is
// configured only through its environment, the connection Secret's keys by
// reference, so no secret is ever in a Job's spec, args, a log or a status.

// dumperTask is the run of the dumper command for owner, on the store prov.
func dumperTask(owner client.Object, prov backupv1alpha1.CloudProvider, name, command string, env []corev1.EnvVar, deadline time.Duration) dumprun.Task {
	task := dumprun.Task{Owner: owner, Name: name, Args: []string{command}, Env: env, Deadline: deadline}
	if prov == backupv1alpha1.ProviderAzure {
		// Azure's workload-identity webhook gives a token only to pods that opt in.
		task.PodLabels = map[string]string{azureWorkloadIdentityLabel: "true"}
	}
	return task
}

// dumperStartFailed is a run that could not start: a runner configured without an
// image or a command fails the restore, saying what to set; anything else is retried.
func dumperStartFailed(err error, what string) error {
	var notConfigured *dumprun.NotConfiguredError
	if errors.As(err, &notConfigured) {
		return failWith(backupv1alpha1.ReasonDumpFailed, "%s", notConfigured.Error())
	}
	return fmt.Errorf("%s: %w", what, err)
}

// azureWorkloadIdentityLabel opts a pod into Azure Workload Identity.
const azureWorkloadIdentityLabel = "azure.workload.identity/use"

// connectionEnv passes the keys of the connection Secret secret to the dumper by
// reference. A non-empty endpoint (host:port, a throw-away instance's) replaces the
// Secret's host and port, whose other keys still give the database and credentials.
// A non-empty iamRegion makes the dumper log in with an RDS IAM token it mints for
// that region: the Secret's password is then not passed at all.
func connectionEnv(secret, endpoint, iamRegion string) []corev1.EnvVar {
	var env []corev1.EnvVar
	keys := []struct {
		env, key string
		optional bool
	}{
		{dump.EnvHost, dump.SecretKeyHost, false},
		{dump.EnvPort, dump.SecretKeyPort, true},
		{dump.EnvDatabase, dump.SecretKeyDatabase, false},
		{dump.EnvUser, dump.SecretKeyUser, false},
		{dump.EnvPassword, dump.SecretKeyPassword, false},
		{dump.EnvSSLMode, dump.SecretKeySSLMode, true},
		{dump.EnvEngine, dump.SecretKeyEngine, true},
	}
	if host, port, err := net.SplitHostPort(endpoint); endpoint != "" && err == nil {
		env = append(env, corev1.EnvVar{Name: dump.EnvHost, Value: host}, corev1.EnvVar{Name: dump.EnvPort, Value: port})
		keys = keys[2:]
	}
	for _, key := range keys {
		if iamRegion != "" && key.key == dump.SecretKeyPassword {
			continue
		}
		env = append(env, secretKeyEnv(key.env, secret, key.key, key.optional))
	}
	if iamRegion != "" {
		env = append(env, corev1.EnvVar{Name: dump.EnvAuth, Value: dump.AuthIAM}, corev1.EnvVar{Name: dump.EnvIAMRegion, Value: iamRegion})
	}
	return env
}

// dumperEndpoint is where the dumper connects to instance id (a throw-away dump
// instance, or a restore's new instance): its endpoint, or the local server
// --dump-instance-endpoints maps it to (the first matching pattern, in order).
func (o Options) dumperEndpoint(id, endpoint string) string {
	patterns := make([]string, 0, len(o.DumpInstanceEndpoints))
	for p := range o.DumpInstanceEndpoints {
		patterns = append(patterns, p)
	}
	sort.Strings(patterns)
	for _, p := range patterns {
		if ok, _ := path.Match(p, id); ok {
			return o.DumpInstanceEndpoints[p]
		}
	}
	return endpoint
}

// storeKeysEnv gives the dumper on a local store the store's keys from the
// connection Secret, when it has them: a Job cannot read the controller's Secret.
func storeKeysEnv(prov backupv1alpha1.CloudProvider, secret string) []corev1.EnvVar {
	if prov != backupv1alpha1.ProviderLocal {
		return nil
	}
	return []corev1.EnvVar{
		secretKeyEnv(provider.EnvLocalS3AccessKeyID, secret, dump.SecretKeyStoreAccessKeyID, true),
		secretKeyEnv(provider.EnvLocalS3SecretAccessKey, secret, dump.SecretKeyStoreSecretAccessKey, true),
	}
}

func secretKeyEnv(name, secret, key string, optional bool) corev1.EnvVar {
	ref := &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: secret}, Key: key}
	if optional {
		ref.Optional = &optional
	}
	return corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{SecretKeyRef: ref}}
}

// connectionKeys are the keys a connection Secret must hold to reach its database;
// masterKeys those a Secret giving a new instance's master credentials must hold (its
// host and port are the new instance's, not the Secret's).
var (
	connectionKeys = []string{dump.SecretKeyHost, dump.SecretKeyDatabase, dump.SecretKeyUser, dump.SecretKeyPassword}
	masterKeys     = []string{dump.SecretKeyDatabase, dump.SecretKeyUser, dump.SecretKeyPassword}
)

// checkConnectionSecret refuses a connection Secret that does not exist or lacks one
// of the required keys, naming the Secret and the key, never a value. With iam the
// password is not required (a token replaces it), and an sslmode that may go without
// TLS is refused: RDS takes a token only over TLS.
func checkConnectionSecret(ctx context.Context, reader client.Reader, namespace, name, field string, required []string, iam bool) error {
	_, err := readConnectionSecret(ctx, reader, namespace, name, field, required, iam)
	return err
}

// readConnectionSecret is checkConnectionSecret returning the Secret it checked, for
// the one caller that passes a value on (a new instance's master password).
func readConnectionSecret(ctx context.Context, reader client.Reader, namespace, name, field string, required []string, iam bool) (*corev1.Secret, error) {
	secret := &corev1.Secret{}
	where := fmt.Sprintf("Secret %s/%s (%s)", namespace, name, field)
	if err := reader.Get(ctx, client.ObjectKey{Namespace: namespace, Name: name}, secret); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, &failure{backupv1alpha1.ReasonConnectionSecretInvalid, where + " does not exist"}
		}
		return nil, fmt.Errorf("read %s: %w", where, err)
	}
	var missing []string
	for _, key := range required {
		if len(secret.Data[key]) == 0 && (!iam || key != dump.SecretKeyPassword) {
			missing = append(missing, strconv.Quote(key))
		}
	}
	if len(missing) > 0 {
		return nil, &failure{backupv1alpha1.ReasonConnectionSecretInvalid, fmt.Sprintf("%s has no value for the key %s", where, strings.Join(missing, ", "))}
	}
	if port, ok := secret.Data[dump.SecretKeyPort]; ok && slices.Contains(required, dump.SecretKeyHost) {
		if n, err := strconv.Atoi(string(port)); err != nil || n < 1 || n > 65535 {
			return nil, &failure{backupv1alpha1.ReasonConnectionSecretInvalid, where + `: key "port" is not a port number (1 to 65535)`}
		}
	}
	if mode := string(secret.Data[dump.SecretKeySSLMode]); iam && (mode == "disable" || mode == "allow") {
		return nil, &failure{backupv1alpha1.ReasonConnectionSecretInvalid, fmt.Sprintf(
			"%s: key \"sslmode\" is %s, but an RDS IAM token is sent only over TLS: use require, verify-ca or verify-full, or leave it out (require)", where, mode)}
	}
	if engine, ok := secret.Data[dump.SecretKeyEngine]; ok {
		switch string(engine) {
		case "postgres", "mysql", "mariadb":
		default:
			return nil, &failure{backupv1alpha1.ReasonConnectionSecretInvalid, where + `: key "engine" must be postgres, mysql or mariadb`}
		}
	}
	return secret, nil
}
