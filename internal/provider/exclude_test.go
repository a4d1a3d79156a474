package provider

import (
	"strings"
	"testing"
)

// matchGlob reports whether name matches pattern, one Excluder pattern on its own.
func matchGlob(pattern, name string) (bool, error) {
	p, err := compileGlob(pattern)
	if err != nil {
		return false, err
	}
	return p.match(strings.Split(name, "/")), nil
}

func TestMatchGlob(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"*.tmp", "a.tmp", true},
		{"*.tmp", "dir/a.tmp", false}, // `*` stays within one segment
		{"**/*.tmp", "a.tmp", true},   // `**` matches zero segments
		{"**/*.tmp", "x/y/z/a.tmp", true},
		{"**/*.tmp", "x/y/z/a.tmpx", false},
		{"tmp/", "tmp/a", true}, // trailing slash means everything below
		{"tmp/", "tmp/a/b/c", true},
		{"tmp/", "tmpx/a", false},
		{"tmp/**", "tmp", true},
		{"a/**/b", "a/b", true},
		{"a/**/b", "a/x/y/b", true},
		{"a/**/b", "a/x/y/c", false},
		{"a/**/b/**/c", "a/1/b/2/b/3/c", true},
		{"a/**/b/**/c", "a/1/b/2/b/3/d", false},
		{"**", "", true},
		{"**", "anything/at/all", true},
		{"?.log", "a.log", true},
		{"?.log", "ab.log", false},
		{"[0-9]*/0/x", "20097/0/x", true},
		{"[0-9]*/0/x", "abc/0/x", false},
		{"exact/key", "exact/key", true},
		{"exact/key", "exact/key/more", false},
		{"exact/key", "exact", false},
	}
	for _, c := range cases {
		got, err := matchGlob(c.pattern, c.name)
		if err != nil {
			t.Fatalf("matchGlob(%q, %q): %v", c.pattern, c.name, err)
		}
		if got != c.want {
			t.Errorf("matchGlob(%q, %q) = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

func TestMatchGlobManyDoubleStarsStaysFast(t *testing.T) {
	// A naive recursive matcher is exponential here; the greedy one is quadratic.
	pattern := strings.Repeat("**/a/", 30) + "b"
	name := strings.Repeat("a/", 200) + "c"
	if ok, err := matchGlob(pattern, name); err != nil || ok {
		t.Fatalf("matchGlob = %v, %v; want false, nil", ok, err)
	}
}

func TestNewExcluderRejectsBadPatterns(t *testing.T) {
	for _, bad := range []string{"", "a/[", "[z-a", "x/\\"} {
		_, err := NewExcluder([]string{bad}, false)
		if err == nil {
			t.Errorf("pattern %q accepted", bad)
			continue
		}
		if KindOf(err) != KindInvalidInput || !IsPermanent(err) {
			t.Errorf("pattern %q: kind %s, want permanent %s", bad, KindOf(err), KindInvalidInput)
		}
	}
}

func TestGeneratedFilePatternsCoverLiferayDerivedFilesOnly(t *testing.T) {
	e, err := NewExcluder(nil, true)
	if err != nil {
		t.Fatal(err)
	}
	generated := []string{
		"20097/0/document_thumbnail/20121/40315/40319/1.0.jpg",
		"20097/0/document_preview/20121/40315/40319/1.0/1.png",
		"20097/0/adaptive/6f1e2d3c/20121/20125/40315/40319/",
		"20097/0/adaptive/6f1e2d3c/20121/20125/40315/40319/1.0",
		"0/document_preview/20121/x.png", // copy started at the company folder
	}
	kept := []string{
		"20097/20125/40315/1.0",                     // a user document
		"20097/20125/40315/40319.pdf/1.1",           // a versioned user document
		"20097/20125/document_thumbnail/1.0",        // not in the system repository
		"20097/0/document_library_kept/1.0",         // other system files stay
		"20097/0/adaptive_configuration_backup.txt", // a sibling, not the folder
	}
	for _, k := range generated {
		if !e.Excluded(k) {
			t.Errorf("generated file %q kept", k)
		}
	}
	for _, k := range kept {
		if e.Excluded(k) {
			t.Errorf("user file %q excluded", k)
		}
	}
}

func TestExcluderCombinesUserAndGeneratedPatterns(t *testing.T) {
	e, err := NewExcluder([]string{"**/*.tmp"}, true)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Excluded("1/2/x.tmp") || !e.Excluded("1/0/adaptive/x") || e.Excluded("1/2/x.pdf") {
		t.Fatal("combined excluder does not apply both pattern sets")
	}
	var none *Excluder
	if none.Excluded("anything") {
		t.Fatal("nil excluder excluded a key")
	}
}

func FuzzMatchGlobDoubleStarEqualsPrefix(f *testing.F) {
	f.Add("a/b", "a/b/c/d")
	f.Add("x", "y/z")
	f.Fuzz(func(t *testing.T, prefix, rest string) {
		if prefix == "" || strings.ContainsAny(prefix, `*?[]\`) {
			return
		}
		// "<literal>/**" matches exactly the literal and the keys below it.
		got, err := matchGlob(prefix+"/**", rest)
		if err != nil {
			t.Fatal(err)
		}
		want := rest == prefix || strings.HasPrefix(rest, prefix+"/")
		if got != want {
			t.Fatalf("matchGlob(%q, %q) = %v, want %v", prefix+"/**", rest, got, want)
		}
	})
}
