package liferay

import "testing"

func TestStoreKeyFollowsLiferaysS3Store(t *testing.T) {
	uuid := "2f1c6a4e-9b7d-4c1e-8a3b-5d6e7f809a1b"
	blank, literalNull, spacedNull := "   ", "null", " nu ll "
	for _, tc := range []struct {
		name                         string
		companyID, groupID, folderID int64
		fileName, version            string
		storeUUID                    *string
		want                         string
	}{
		{"root folder uses the groupId", 20101, 20102, 0, "1", "1.0", nil, "20101/20102/1/1.0"},
		{"a folder uses its folderId", 20101, 20102, 20110, "7", "1.2", nil, "20101/20110/7/1.2"},
		{"storeUUID is appended after a tilde", 20101, 20102, 20110, "7", "1.2", &uuid, "20101/20110/7/1.2~" + uuid},
		{"blank storeUUID counts as none", 20101, 20102, 0, "7", "2.0", &blank, "20101/20102/7/2.0"},
		{`"null" storeUUID counts as none`, 20101, 20102, 0, "7", "2.0", &literalNull, "20101/20102/7/2.0"},
		{`"null" with spaces counts as none`, 20101, 20102, 0, "7", "2.0", &spacedNull, "20101/20102/7/2.0"},
		{"a leading slash in the name is kept once", 1, 2, 0, "/9", "1.0", nil, "1/2/9/1.0"},
		{"a trailing slash in the name is dropped", 1, 2, 0, "9/", "1.0", nil, "1/2/9/1.0"},
		{"a nested name keeps its slashes", 1, 2, 3, "a/b", "PWC", nil, "1/3/a/b/PWC"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := StoreKey(tc.companyID, tc.groupID, tc.folderID, tc.fileName, tc.version, tc.storeUUID)
			if got != tc.want {
				t.Fatalf("StoreKey = %q, want %q", got, tc.want)
			}
		})
	}
}
