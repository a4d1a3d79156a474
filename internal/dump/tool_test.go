package dump

import (
	"context"
	"os"
	"strings"
	"testing"
)

func TestToolVersionLines(t *testing.T) {
	for _, c := range []struct {
		line, family, version string
		major, minor          int
	}{
		{"pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", EnginePostgres, "15.18", 15, 18},
		{"pg_dump (PostgreSQL) 17beta1", EnginePostgres, "17", 17, 0},
		{"mariadb-dump  Ver 10.19 Distrib 10.11.19-MariaDB, for debian-linux-gnu (x86_64)", EngineMariaDB, "10.11.19", 10, 11},
		{"mariadb-dump from 11.4.2-MariaDB, client 10.19 for linux-systemd (x86_64)", EngineMariaDB, "11.4.2", 11, 4},
		{"mysqldump  Ver 8.0.36 for Linux on x86_64 (MySQL Community Server - GPL)", EngineMySQL, "8.0.36", 8, 0},
	} {
		tl := &tool{name: "t"}
		if err := tl.parseVersion(c.line); err != nil {
			t.Errorf("%q: %v", c.line, err)
			continue
		}
		if tl.family != c.family || tl.version != c.version || tl.major != c.major || tl.minor != c.minor {
			t.Errorf("%q read as %s %s (%d.%d)", c.line, tl.family, tl.version, tl.major, tl.minor)
		}
	}
}

func TestRefuseNewerServer(t *testing.T) {
	pg15 := &tool{name: "pg_dump", family: EnginePostgres, version: "15.18", major: 15, minor: 18}
	maria1011 := &tool{name: "mariadb-dump", family: EngineMariaDB, version: "10.11.19", major: 10, minor: 11}
	mysql80 := &tool{name: "mysqldump", family: EngineMySQL, version: "8.0.36", major: 8, minor: 0}
	for _, c := range []struct {
		engine       string
		major, minor int
		tool         *tool
		refused      bool
	}{
		{EnginePostgres, 15, 99, pg15, false}, // minor releases of a major share the archive format
		{EnginePostgres, 14, 2, pg15, false},
		{EnginePostgres, 16, 0, pg15, true},
		{EngineMariaDB, 10, 11, maria1011, false},
		{EngineMariaDB, 10, 6, maria1011, false},
		{EngineMariaDB, 11, 4, maria1011, true},
		{EngineMySQL, 8, 0, maria1011, false},
		{EngineMySQL, 8, 4, maria1011, true},
		{EngineMySQL, 8, 0, mysql80, false},
		{EngineMySQL, 8, 4, mysql80, true},
		{EngineMariaDB, 10, 6, mysql80, true},
	} {
		err := refuseNewerServer(&server{engine: c.engine, version: "v", major: c.major, minor: c.minor}, c.tool)
		if (err != nil) != c.refused {
			t.Errorf("%s %d.%d with %s %s: %v, refused want %v", c.engine, c.major, c.minor, c.tool.name, c.tool.version, err, c.refused)
		}
	}
}

// With IAM the option file holds a token, never the Secret's password, with TLS; the
// cleartext option goes only to the group of a MySQL tool that needs it.
func TestMySQLOptionFileWithIAM(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIAOPTIONFILE000001")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "option-file-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	conn := Connection{Host: "db.example", Port: 3306, User: "lc2_dump", Database: "lportal", Password: "stored-password",
		SSLMode: "require", IAM: NewIAMAuth("eu-west-1")}
	for _, group := range []string{"", "mysqldump"} {
		path, cleanup, err := conn.mysqlDefaultsFile(context.Background(), group)
		if err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		cleanup()
		if err != nil {
			t.Fatal(err)
		}
		text := string(data)
		if strings.Contains(text, "stored-password") || !strings.Contains(text, `password="db.example:3306?Action=connect&DBUser=lc2_dump`) ||
			!strings.Contains(text, "\nssl\n") {
			t.Errorf("group %q: want a token and ssl, not the stored password:\n%s", group, text)
		}
		if got := strings.Contains(text, "[mysqldump]\nenable-cleartext-plugin\n"); got != (group != "") {
			t.Errorf("group %q: cleartext option %v:\n%s", group, got, text)
		}
	}
}
