package controller

import "testing"

func TestStoredKeysStayInTheirFolderWithDotSegmentsResolved(t *testing.T) {
	for key, leaves := range map[string]bool{
		"data/20097/20121/1000/1.0":              false,
		"data/20097/20121/../dotdot-segment.txt": false, // a key S3 stores literally; resolved it is still under data/
		"data/./a":                               false,
		"data//a":                                false,
		"data/a/..":                              false,
		"data/..":                                true,
		"data/../../../alpha/prd/a1/data/x":      true,
		"data/a/../../alpha":                     true,
		"other/a":                                true,
		"../data/a":                              true,
		"objects/ab/x":                           true,
	} {
		if got := leavesDir(key, "data/"); got != leaves {
			t.Errorf("leavesDir(%q, data/) = %v, want %v", key, got, leaves)
		}
	}
}

func TestBackupPlacesLieUnderTheProjectsPrefix(t *testing.T) {
	for key, refused := range map[string]bool{
		"bravo/prd/b1/manifest.json":    false,
		"bravo/./prd/b1/":               false,
		"alpha/prd/a1/":                 true,
		"bravo/../alpha/prd/a1/":        true,
		"bravo/prd/../../alpha/prd/a1/": true,
		"bravo-old/prd/a1/":             true,
		"manifest.json":                 true,
	} {
		if err := underProjectPrefix("bravo", "field", "s3://b/"+key, key); (err != nil) != refused {
			t.Errorf("%s: %v, want refused %v", key, err, refused)
		}
	}
}

// TestClimbsAbove: the odd keys a library may hold stay inside the backup however
// they are read; only a key resolving above the backup's prefix is refused.
func TestClimbsAbove(t *testing.T) {
	for rel, want := range map[string]bool{
		"data/20097/20121/../dotdot-segment.txt": false,
		"data/../leading-dotdot.txt":             false,
		"data/a/..":                              false,
		"data/./x//y/":                           false,
		"data/../../x":                           true,
		"data/../../../alpha/prd/a1/data/x":      true,
		"../x":                                   true,
	} {
		if got := climbsAbove(rel); got != want {
			t.Errorf("climbsAbove(%q) = %v, want %v", rel, got, want)
		}
	}
}
