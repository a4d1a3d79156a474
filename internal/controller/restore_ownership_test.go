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
