package liferay

import (
	"strconv"
	"strings"
)

// Liferay's document-library store key, as its S3 store builds it. Read in
// liferay-portal source: DLFileEntryImpl, DLFileVersionImpl and S3Store at
// liferay-core-infra/liferay-portal 27f41d1; S3KeyTransformerImpl,
// DLFolderConstants, DLFileEntryLocalServiceImpl and Validator in public copies
// of the same modules:
//
//   - S3Store keys a file version by S3KeyTransformerUtil.getFileVersionKey(
//     companyId, repositoryId, fileName, versionLabel) = companyId + "/" +
//     repositoryId + getNormalizedFileName(fileName) + "/" + versionLabel, where
//     getNormalizedFileName prefixes "/" when the name lacks one and drops one
//     trailing "/".
//   - Callers pass DLFileEntry.getDataRepositoryId() as repositoryId, which is
//     DLFolderConstants.getDataRepositoryId(getGroupId(), getFolderId()): the
//     folderId when it is not 0 (DEFAULT_PARENT_FOLDER_ID), else the groupId.
//     Not DLFileEntry.repositoryId.
//   - fileName is DLFileEntry.name, a number drawn from the counter named after
//     DLFileEntry (DLFileEntryLocalServiceImpl.addFileEntry).
//   - versionLabel is DLFileVersion.getStoreFileName(): version, or
//     version + "~" + storeUUID unless Validator.isNull(storeUUID), which holds
//     for null, nothing but spaces, or "null" with spaces anywhere.

// StoreKey returns the key under which Liferay's S3 store keeps one file version.
// storeUUID is nil for a NULL column.
func StoreKey(companyID, groupID, folderID int64, name, version string, storeUUID *string) string {
	dataRepositoryID := folderID
	if folderID == 0 {
		dataRepositoryID = groupID
	}
	return strconv.FormatInt(companyID, 10) + "/" + strconv.FormatInt(dataRepositoryID, 10) +
		normalizedFileName(name) + "/" + StoreFileName(version, storeUUID)
}

// StoreFileName is DLFileVersion.getStoreFileName.
func StoreFileName(version string, storeUUID *string) string {
	if storeUUID == nil || liferayIsNull(*storeUUID) {
		return version
	}
	return version + "~" + *storeUUID
}

func normalizedFileName(name string) string {
	normalized := name
	if !strings.HasPrefix(name, "/") {
		normalized = "/" + normalized
	}
	if strings.HasSuffix(name, "/") {
		normalized = normalized[:len(normalized)-1]
	}
	return normalized
}

// liferayIsNull is Validator.isNull(String): spaces are ignored, and what is
// left must be empty or exactly "null".
func liferayIsNull(s string) bool {
	rest := strings.ReplaceAll(s, " ", "")
	return rest == "" || rest == "null"
}
