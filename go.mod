module github.com/liferay/lc2-backup-controller

go 1.26.0
