package dump_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/dump"
)

func TestConfigFromEnvNamesTheMissingKey(t *testing.T) {
	full := map[string]string{
		dump.EnvHost: "db.internal", dump.EnvPort: "5432", dump.EnvDatabase: "lportal", dump.EnvUser: "liferay",
		dump.EnvPassword: "s3cret-value", dump.EnvSecretRef: "retail-prd/lportal-db", dump.EnvBucket: "backups",
		dump.EnvPrefix: "retail/1/",
	}
	cfg, err := dump.ConfigFromEnv(func(k string) string { return full[k] })
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Host != "db.internal" || cfg.Port != 5432 || cfg.Password != "s3cret-value" || cfg.Bucket != "backups" || cfg.Prefix != "retail/1/" {
		t.Errorf("config %+v", cfg)
	}
	for _, c := range []struct{ unset, value, says string }{
		{dump.EnvPassword, "", `key "password" of Secret retail-prd/lportal-db`},
		{dump.EnvHost, "", `key "host" of Secret retail-prd/lportal-db`},
		{dump.EnvUser, "", `key "user" of Secret retail-prd/lportal-db`},
		{dump.EnvDatabase, "", `key "database" of Secret retail-prd/lportal-db`},
		{dump.EnvPort, "54x", `key "port" of Secret retail-prd/lportal-db is "54x"`},
		{dump.EnvEngine, "oracle", `key "engine" of Secret retail-prd/lportal-db is "oracle"`},
		{dump.EnvBucket, "", dump.EnvBucket},
		{dump.EnvCompression, "lz4", dump.EnvCompression},
	} {
		env := map[string]string{}
		for k, v := range full {
			env[k] = v
		}
		env[c.unset] = c.value
		_, err := dump.ConfigFromEnv(func(k string) string { return env[k] })
		var f *dump.Failure
		if !errors.As(err, &f) || f.Reason != dump.ReasonMissingSetting || !strings.Contains(f.Message, c.says) {
			t.Errorf("%s=%q: %v, want MissingSetting saying %q", c.unset, c.value, err, c.says)
		}
		if err != nil && strings.Contains(err.Error(), "s3cret-value") {
			t.Errorf("%s=%q: the message holds the password", c.unset, c.value)
		}
	}
}
