package setup

import (
	"testing"
	"time"

	"github.com/liferay/lc2-backup-controller/internal/controller"
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
