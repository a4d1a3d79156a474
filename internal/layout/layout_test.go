package layout

import (
	"reflect"
	"testing"
	"time"
)

func TestAncestors(t *testing.T) {
	for prefix, want := range map[string][]string{
		"a/":       nil,
		"a/b/":     {"a/"},
		"a/b/c/":   {"a/", "a/b/"},
		"retail/x": {"retail/"},
	} {
		if got := Ancestors(prefix); !reflect.DeepEqual(got, want) {
			t.Errorf("Ancestors(%q) = %q, want %q", prefix, got, want)
		}
	}
}

func TestPartKeysAreRecognisedAndDataKeysCannotEscape(t *testing.T) {
	run := RunID(time.Date(2026, 11, 26, 7, 15, 0, 123456789, time.UTC))
	key := PartKey(run, 7)
	if key != "inventory/20261126T071500.123456789Z-00007.jsonl.gz" || !IsPartKey(key) {
		t.Fatalf("PartKey = %q (recognised %v)", key, IsPartKey(key))
	}
	for _, notPart := range []string{"inventory/x.jsonl.gz", "data/inventory/" + key, "inventory/../claim.json"} {
		if IsPartKey(notPart) {
			t.Errorf("%q taken for an inventory part", notPart)
		}
	}
	for rel, want := range map[string]bool{
		"data/a/b": true, "data/manifest.json": true, "data/": true, "manifest.json": false,
		"datax/a": false, "claim.json": false, "": false, "Data/a": false, "/data/a": false,
		"inventory/" + key: false, "./data/a": false,
	} {
		if got := IsDataKey(rel); got != want {
			t.Errorf("IsDataKey(%q) = %v, want %v", rel, got, want)
		}
	}
}

// oddKeys are source keys, relative to a source prefix, that S3 accepts and a naive
// path rule would treat differently from others: each is stored, listed and deleted
// like any key (docs/backup-layout.md).
var oddKeys = []string{
	"20097/20121/../dotdot-segment.txt",
	"../leading-dotdot.txt",
	"..",
	"a/..",
	"20097/./dot-segment.txt",
	"./leading-dot.txt",
	".",
	"trailing-dot.",
	"double//slash.txt",
	"/leading-slash.txt",
	"//",
	"folder-marker/",
	"spaces and %25 + ? # & = ; ~.txt",
	"unicode/\u00e9t\u00e9-\u6587\u4ef6-\U0001F600.txt",
	"nfc/caf\u00e9.txt",  // NFC: é is one code point
	"nfd/cafe\u0301.txt", // NFD: e + combining acute, a different key that looks the same
	"control/tab\there-and-bell\a-and-del\x7f.txt",
	"percent-encoded/%2e%2e/%2F.txt",
	"backslash\\..\\x.txt",
}

func TestEveryKeyTheCopyStoresIsADataKey(t *testing.T) {
	const dest = "retail/prd/20251109/"
	for _, rel := range oddKeys {
		stored := DataPrefix(dest) + rel // where the copy writes the source key
		if !IsDataKey(stored[len(dest):]) {
			t.Errorf("source key %q is stored as %q, which cleanup would not delete", rel, stored)
		}
	}
}

func TestClaimRoundTrip(t *testing.T) {
	c := &Claim{Version: ClaimVersion, BackupID: "ns-a-1234", UID: "1234-5678", Namespace: "ns", Name: "a", ProjectID: "p", Environment: "prd",
		ClaimedAt: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	data, err := c.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseClaim(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, c) {
		t.Fatalf("round trip: %+v, want %+v", got, c)
	}
	if _, err := ParseClaim([]byte(`{"version":"1"}`)); err == nil {
		t.Fatal("a claim without uid parsed")
	}
}

func TestDatabasePartIsNamedApartFromTheCopyRuns(t *testing.T) {
	if key := DatabasePartKey("p/x/"); key != "p/x/inventory/database.jsonl.gz" {
		t.Fatalf("DatabasePartKey = %q", key)
	}
	if !IsDatabasePartKey("inventory/database.jsonl.gz") || IsPartKey("inventory/database.jsonl.gz") {
		t.Fatal("the database part must be recognised as itself and never as a copy run's part")
	}
	for _, notPart := range []string{"inventory/database.jsonl", "data/inventory/database.jsonl.gz", "inventory/database-00000.jsonl.gz"} {
		if IsDatabasePartKey(notPart) {
			t.Errorf("%q taken for the database part", notPart)
		}
	}
	for rel, want := range map[string]bool{
		"database/dump.pgdump": true, "database/dump.json": true, "database/dump.sql.gz": true,
		"database/": false, "database/a/dump.pgdump": false, "database/..": false, "database/.": false,
		"data/database/dump.pgdump": false, "databasex/dump": false, "manifest.json": false, "": false,
	} {
		if got := IsDatabaseKey(rel); got != want {
			t.Errorf("IsDatabaseKey(%q) = %v, want %v", rel, got, want)
		}
	}
}
