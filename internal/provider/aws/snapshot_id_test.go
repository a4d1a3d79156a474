package aws

import (
	"strings"
	"testing"

	"github.com/liferay/lc2-backup-controller/internal/provider"
)

func TestSnapshotIdentifierIsReadableAndStable(t *testing.T) {
	owner := provider.BackupOwner{Namespace: "acme-prd", Name: "nightly-2026-11-26", UID: "6b1f0c2e-9d4a-4c1e-8f00-1234567890ab"}
	id := SnapshotIdentifier(owner)
	if !strings.HasPrefix(id, "lc2-acme-prd-nightly-2026-11-26-") || len(id) != len("lc2-acme-prd-nightly-2026-11-26-")+16 {
		t.Fatalf("identifier %q is not lc2-<namespace>-<name>-<16 hex>", id)
	}
	if again := SnapshotIdentifier(owner); again != id {
		t.Fatalf("identifier changed between calls: %q then %q", id, again)
	}
	// Project and environment are tags, not part of the identity.
	withTags := owner
	withTags.ProjectID, withTags.Environment = "acme", "prd"
	if SnapshotIdentifier(withTags) != id {
		t.Fatal("identifier depends on project or environment")
	}
}

func TestSnapshotIdentifierNastyInputs(t *testing.T) {
	long := strings.Repeat("a", 300)
	owners := []provider.BackupOwner{
		{},
		{Namespace: "", Name: "", UID: "u"},
		{Namespace: "-", Name: "--", UID: "---"},
		{Namespace: "9starts-with-digit", Name: "x", UID: "u"},
		{Namespace: "UPPER_case", Name: "Dots.And_Underscores", UID: "u"},
		{Namespace: "ns", Name: "trailing-", UID: "u"},
		{Namespace: "ns", Name: "a--b---c", UID: "u"},
		{Namespace: "ns", Name: "ünïcødé-名前-🚀", UID: "u"},
		{Namespace: long, Name: long, UID: long},
		{Namespace: "ns", Name: strings.Repeat("a-", 200), UID: "u"},
		{Namespace: "ns", Name: strings.Repeat("a", 119) + "-b", UID: "u"}, // cut lands on the hyphen
		{Namespace: "\x00\xff", Name: "\n\t ", UID: "\x00"},
	}
	seen := map[string]provider.BackupOwner{}
	for _, o := range owners {
		id := SnapshotIdentifier(o)
		if !ValidSnapshotIdentifier(id) {
			t.Errorf("SnapshotIdentifier(%+v) = %q breaks RDS rules", o, id)
		}
		if prev, dup := seen[id]; dup {
			t.Errorf("owners %+v and %+v share identifier %q", prev, o, id)
		}
		seen[id] = o
	}
}

func TestSnapshotIdentifierSeparatesLookalikeOwners(t *testing.T) {
	pairs := [][2]provider.BackupOwner{
		{{Namespace: "a-b", Name: "c", UID: "u"}, {Namespace: "a", Name: "b-c", UID: "u"}},
		{{Namespace: "ns", Name: "x.y", UID: "u"}, {Namespace: "ns", Name: "x-y", UID: "u"}},
		{{Namespace: "ns", Name: "n", UID: "uid-1"}, {Namespace: "ns", Name: "n", UID: "uid-2"}},
		{{Namespace: "ns", Name: "ab", UID: "c"}, {Namespace: "ns", Name: "a", UID: "bc"}},
	}
	for _, p := range pairs {
		if SnapshotIdentifier(p[0]) == SnapshotIdentifier(p[1]) {
			t.Errorf("%+v and %+v collide on %q", p[0], p[1], SnapshotIdentifier(p[0]))
		}
	}
}

func TestValidSnapshotIdentifier(t *testing.T) {
	for id, want := range map[string]bool{
		"a": true, "lc2-x-1": true, "A1-b2": true,
		"": false, "1abc": false, "-abc": false, "abc-": false, "a--b": false, "a_b": false, "a.b": false,
		strings.Repeat("a", 255): true, strings.Repeat("a", 256): false,
	} {
		if got := ValidSnapshotIdentifier(id); got != want {
			t.Errorf("ValidSnapshotIdentifier(%q) = %v, want %v", id, got, want)
		}
	}
}

func FuzzSnapshotIdentifier(f *testing.F) {
	f.Add("acme-prd", "nightly", "6b1f0c2e-9d4a-4c1e-8f00-1234567890ab")
	f.Add("", "", "")
	f.Add("--", "a--", "-")
	f.Add(strings.Repeat("x", 300), "Ä.ß", "\x00")
	f.Fuzz(func(t *testing.T, namespace, name, uid string) {
		owner := provider.BackupOwner{Namespace: namespace, Name: name, UID: uid}
		id := SnapshotIdentifier(owner)
		if !ValidSnapshotIdentifier(id) {
			t.Fatalf("SnapshotIdentifier(%q, %q, %q) = %q breaks RDS rules", namespace, name, uid, id)
		}
		if SnapshotIdentifier(owner) != id {
			t.Fatal("not deterministic")
		}
	})
}
