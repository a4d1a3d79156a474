-- A small Liferay-shaped database for make demo-dump: a company, sites, a folder, file
-- entries and versions with Liferay's column names, and a bulk table. The dump of it
-- is restored into an empty database and compared table by table.
CREATE TABLE Company (companyId bigint PRIMARY KEY, webId varchar(75), mx varchar(200), name varchar(75));
CREATE TABLE Group_ (groupId bigint PRIMARY KEY, companyId bigint REFERENCES Company, name text, friendlyURL varchar(255));
CREATE TABLE DLFolder (folderId bigint PRIMARY KEY, groupId bigint REFERENCES Group_, companyId bigint, parentFolderId bigint, name varchar(255));
CREATE TABLE DLFileEntry (fileEntryId bigint PRIMARY KEY, groupId bigint REFERENCES Group_, companyId bigint, folderId bigint,
  name varchar(255), fileName varchar(255), title varchar(255), size_ bigint, version varchar(75));
CREATE TABLE DLFileVersion (fileVersionId bigint PRIMARY KEY, fileEntryId bigint REFERENCES DLFileEntry, groupId bigint,
  companyId bigint, folderId bigint, version varchar(75), size_ bigint, storeUUID varchar(75));
CREATE TABLE JournalArticle (id_ bigint PRIMARY KEY, groupId bigint, title text, content text);

INSERT INTO Company VALUES (20097, 'liferay.com', 'liferay.com', 'Retail');
INSERT INTO Group_ SELECT 20120 + g, 20097, 'Site ' || g, '/site-' || g FROM generate_series(1, 3) g;
INSERT INTO DLFolder VALUES (30001, 20121, 20097, 0, 'Invoices');
INSERT INTO DLFileEntry SELECT 40000 + f, 20121, 20097, CASE WHEN f % 2 = 0 THEN 30001 ELSE 0 END,
  (1000 + f)::text, 'file-' || f || '.pdf', 'Fichier ' || f || ' – résumé', 1024 * f, '1.0' FROM generate_series(1, 20) f;
INSERT INTO DLFileVersion SELECT 50000 + f, 40000 + f, 20121, 20097, CASE WHEN f % 2 = 0 THEN 30001 ELSE 0 END,
  '1.0', 1024 * f, NULL FROM generate_series(1, 20) f;
INSERT INTO JournalArticle SELECT a, 20121 + a % 3, 'Article ' || a, repeat('Lorem ipsum dolor sit amet. ', 40) FROM generate_series(1, 2000) a;
