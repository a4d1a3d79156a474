package setup

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/controller"
	"github.com/liferay/lc2-backup-controller/internal/provider"
)

func TestLoadConfigReadsTheEnvironmentAndFlagsWin(t *testing.T) {
	t.Setenv("MAX_CONCURRENT_BACKUPS_PER_PROJECT", "3")
	t.Setenv("BACKUP_DEADLINE", "2h")
	t.Setenv("RESOURCE_OWNERSHIP", "none")
	t.Setenv("KUBE_API_QPS", "20")
	t.Setenv("COPY_REQUESTS_PER_SECOND", "750")
	t.Setenv(EnvEnableArchival, "false")
	cfg, _, err := LoadConfig([]string{"--kube-api-qps=30", "--kube-api-burst=60"})
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Controller
	if o.MaxConcurrentBackupsPerProject != 3 || o.BackupDeadline != 2*time.Hour || o.ResourceOwnership != controller.OwnershipNone {
		t.Errorf("environment not read: %+v", o)
	}
	if cfg.KubeAPIQPS != 30 || cfg.KubeAPIBurst != 60 {
		t.Errorf("flags must win over the environment: qps %d burst %d", cfg.KubeAPIQPS, cfg.KubeAPIBurst)
	}
	if cfg.Archival != nil {
		t.Error("ENABLE_ARCHIVAL=false must turn archival off")
	}
	if cfg.AWS.CopyRequestsPerSecond != 750 {
		t.Errorf("COPY_REQUESTS_PER_SECOND not read: %v", cfg.AWS.CopyRequestsPerSecond)
	}
}

func TestLoadConfigEnablesArchivalFromTheDatabaseEnvironment(t *testing.T) {
	for _, v := range []string{"", "true", "1"} {
		t.Setenv(EnvEnableArchival, v)
		t.Setenv("DATABASE_URL", "postgres://backup@db.example:5432/backup_history?sslmode=require")
		cfg, _, err := LoadConfig(nil)
		if err != nil {
			t.Fatalf("ENABLE_ARCHIVAL=%q: %v", v, err)
		}
		if cfg.Archival == nil || cfg.Archival.URL == "" {
			t.Errorf("ENABLE_ARCHIVAL=%q: archival must be on with the database from DATABASE_URL, got %+v", v, cfg.Archival)
		}
	}
}

func TestLoadConfigRefusesBadValuesNamingThem(t *testing.T) {
	for env, value := range map[string]string{
		EnvEnableArchival:                    "maybe",
		"BACKUP_RETENTION_DAYS":              "3",
		"RESOURCE_OWNERSHIP":                 "sometimes",
		"MAX_CONCURRENT_BACKUPS_PER_PROJECT": "0",
		"BACKUP_DEADLINE":                    "soon",
		"COPY_REQUESTS_PER_SECOND":           "-1",
		"DUMP_INSTANCE_ENDPOINTS":            "lc2-dump-*",
	} {
		t.Run(env, func(t *testing.T) {
			t.Setenv(EnvEnableArchival, "false")
			t.Setenv(env, value)
			if _, _, err := LoadConfig(nil); err == nil {
				t.Fatalf("%s=%s accepted", env, value)
			}
		})
	}
}

func TestLoadConfigMapsThrowAwayDumpInstancesToLocalServers(t *testing.T) {
	t.Setenv(EnvEnableArchival, "false")
	cfg, _, err := LoadConfig([]string{"--dump-instance-endpoints", "lc2-dump-*=127.0.0.1:5432, other-*=db.local:3306"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"lc2-dump-*": "127.0.0.1:5432", "other-*": "db.local:3306"}
	if got := cfg.Controller.DumpInstanceEndpoints; len(got) != 2 || got["lc2-dump-*"] != want["lc2-dump-*"] || got["other-*"] != want["other-*"] {
		t.Errorf("DumpInstanceEndpoints = %v, want %v", got, want)
	}
	for _, bad := range []string{"lc2-dump-*=127.0.0.1", "[=127.0.0.1:5432", "=127.0.0.1:5432"} {
		if _, _, err := LoadConfig([]string{"--dump-instance-endpoints", bad}); err == nil || !strings.Contains(err.Error(), "--dump-instance-endpoints") {
			t.Errorf("%q: %v, want a refusal naming the flag", bad, err)
		}
	}
}

func TestLoadConfigReadsTheProvidersAndTheirSettings(t *testing.T) {
	t.Setenv(EnvEnableArchival, "false")
	t.Setenv("PROVIDERS", "aws, gcp")
	t.Setenv("AZURE_STORAGE_KEY", "a-key")
	t.Setenv("LOCAL_S3_SECRET_ACCESS_KEY", "a-secret")
	cfg, _, err := LoadConfig([]string{"--providers=azure,local", "--local-s3-endpoint=http://127.0.0.1:7070",
		"--azure-storage-account-url=http://127.0.0.1:10000/devstoreaccount1", "--gcs-endpoint=http://127.0.0.1:4443"})
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(cfg.Providers, ",") != "azure,local" {
		t.Errorf("--providers must win over PROVIDERS: %v", cfg.Providers)
	}
	if cfg.Azure.AccountKey != "a-key" || cfg.Local.SecretAccessKey != "a-secret" || cfg.Local.Endpoint != "http://127.0.0.1:7070" ||
		cfg.GCP.Endpoint != "http://127.0.0.1:4443" || cfg.Azure.AccountURL != "http://127.0.0.1:10000/devstoreaccount1" {
		t.Errorf("settings not read: gcp %+v azure %+v local %+v", cfg.GCP, cfg.Azure, cfg.Local)
	}
}

func TestLoadConfigRefusesABadProviderList(t *testing.T) {
	t.Setenv(EnvEnableArchival, "false")
	for list, want := range map[string]string{
		"aws,digitalocean": `unknown provider "digitalocean"`,
		"gcp,gcp":          `"gcp" is listed twice`,
		" , ":              "name at least one",
	} {
		_, _, err := LoadConfig([]string{"--providers=" + list})
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "--providers") {
			t.Errorf("--providers=%q: want an error saying %q, got %v", list, want, err)
		}
	}
}

// Every store the flags name is built at start; one that cannot be configured stops
// the manager, naming the setting.
func TestNewProvidersBuildsEveryNamedStore(t *testing.T) {
	cfg := &Config{Providers: []string{"gcp", "azure", "local"}}
	cfg.GCP.Endpoint = "http://127.0.0.1:4443"
	cfg.Azure.AccountURL, cfg.Azure.AccountName, cfg.Azure.AccountKey = "http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", "a2V5"
	cfg.Local.Endpoint = "http://127.0.0.1:7070"
	reg, err := NewProviders(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range cfg.Providers {
		p, err := reg.Get(name)
		if err != nil {
			t.Fatalf("%s not registered: %v", name, err)
		}
		if provider.CapabilitiesOf(p).DatabaseSnapshots {
			t.Errorf("%s claims a database service", name)
		}
	}
	if _, err := reg.Get("aws"); err == nil {
		t.Error("aws registered though not named")
	}
	cfg.Local.Endpoint = ""
	if _, err := NewProviders(context.Background(), cfg); err == nil || !strings.Contains(err.Error(), "LOCAL_S3_ENDPOINT") {
		t.Errorf("a local store without an endpoint must stop the start, naming the setting: %v", err)
	}
}
