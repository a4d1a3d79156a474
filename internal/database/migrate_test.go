package database

import (
	"context"
	"strings"
	"sync"
	"testing"
)

// schemaSnapshot describes every object the migrations create, to compare runs.
func schemaSnapshot(t *testing.T, c *Client) string {
	t.Helper()
	queries := []string{
		`SELECT table_name || '.' || column_name || ':' || data_type || ':' || COALESCE(character_maximum_length::text, '') || ':' || is_nullable
		   FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1`,
		`SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1`,
		`SELECT tgname || ':' || tgrelid::regclass::text FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1`,
		`SELECT viewname || ':' || definition FROM pg_views WHERE schemaname = 'public' ORDER BY 1`,
		`SELECT proname || ':' || md5(prosrc) FROM pg_proc WHERE pronamespace = 'public'::regnamespace ORDER BY 1`,
		`SELECT conname || ':' || pg_get_constraintdef(oid) FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY 1`,
		`SELECT version || ':' || name || ':' || checksum || ':' || applied_at::text FROM schema_migrations ORDER BY 1`,
	}
	var b strings.Builder
	for _, q := range queries {
		for _, s := range queryStrings(t, c, q) {
			b.WriteString(s + "\n")
		}
	}
	return b.String()
}

func TestMigrateTwiceChangesNothing(t *testing.T) {
	ctx := context.Background()
	c := newTestClient(t, true)
	before := schemaSnapshot(t, c)
	for _, want := range []string{"backup_requests.uid", "restore_requests.uid", "backup_metrics.project_id",
		"recent_successful_backups:", "backup_summary_by_project:", "backup_requests_duration", "backup_requests_updated_at",
		"restore_requests.backup_id:character varying:512:YES", "restore_requests.verify_only:boolean::NO", "restore_requests_completed_idx",
		"backup_requests.dl_mode:character varying:16:YES", "backup_requests.dl_point_in_time:timestamp with time zone::YES",
		"backup_metrics.total_dl_bytes_referenced:bigint::NO", "backup_requests_dl_incremental_split:"} {
		if !strings.Contains(before, want) {
			t.Errorf("schema lacks %q", want)
		}
	}
	if err := c.Migrate(ctx); err != nil {
		t.Fatalf("second migrate: %v", err)
	}
	if after := schemaSnapshot(t, c); after != before {
		t.Fatalf("second migrate changed the schema:\nbefore:\n%s\nafter:\n%s", before, after)
	}
	migs, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	if v, err := c.SchemaVersion(ctx); err != nil || v != migs[len(migs)-1].Version {
		t.Fatalf("schema version %d, %v; want %d", v, err, migs[len(migs)-1].Version)
	}
}

func TestMigrateConcurrentReplicas(t *testing.T) {
	ctx := context.Background()
	first := newTestClient(t, false)
	var clients []*Client
	for range 4 {
		c, err := Open(first.cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := c.Close(); err != nil {
				t.Errorf("close database client: %v", err)
			}
		})
		clients = append(clients, c)
	}
	// The replicas start together, so their migrations overlap however the goroutines
	// are scheduled.
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, len(clients))
	for i, c := range clients {
		wg.Go(func() { <-start; errs[i] = c.Migrate(ctx) })
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
	migs, err := Migrations()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := first.DB().QueryRow(`SELECT count(*) FROM schema_migrations`).Scan(&n); err != nil || n != len(migs) {
		t.Fatalf("schema_migrations has %d rows (%v), want %d", n, err, len(migs))
	}
}

func TestMigrateRefusesEditedMigration(t *testing.T) {
	c := newTestClient(t, true)
	if _, err := c.DB().Exec(`UPDATE schema_migrations SET checksum = 'deadbeefdeadbeef' WHERE version = 1`); err != nil {
		t.Fatal(err)
	}
	err := c.Migrate(context.Background())
	if err == nil || !strings.Contains(err.Error(), "edited after it was applied") {
		t.Fatalf("want edited-migration error, got %v", err)
	}
}
