package database

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const secret = "s3cr3t-P@ss/word"

func TestConfigFromEnv(t *testing.T) {
	for _, k := range []string{EnvURL, EnvPassword, EnvPasswordFile} {
		t.Setenv(k, "")
	}
	t.Setenv(EnvHost, "db.example")
	t.Setenv(EnvPort, "6543")
	t.Setenv(EnvName, "hist")
	t.Setenv(EnvUser, "bk")
	t.Setenv(EnvSSLMode, "disable")
	pwFile := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(pwFile, []byte(secret+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv(EnvPasswordFile, pwFile)
	c, err := ConfigFromEnv()
	if err != nil {
		t.Fatal(err)
	}
	if c.Host != "db.example" || c.Port != 6543 || c.Name != "hist" || c.User != "bk" || c.SSLMode != "disable" || c.Password != secret {
		t.Fatalf("config %#v / password ok %v", c, c.Password == secret)
	}
	t.Setenv(EnvPassword, "also")
	if _, err := ConfigFromEnv(); err == nil {
		t.Fatal("both DB_PASSWORD and DB_PASSWORD_FILE accepted")
	}
	t.Setenv(EnvPassword, "")
	t.Setenv(EnvPort, "abc")
	if _, err := ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), EnvPort) {
		t.Fatalf("bad port: %v", err)
	}
	t.Setenv(EnvPort, "5432")
	t.Setenv(EnvSSLMode, "sometimes")
	if _, err := ConfigFromEnv(); err == nil || !strings.Contains(err.Error(), EnvSSLMode) {
		t.Fatalf("bad ssl mode: %v", err)
	}
}

func TestPasswordNeverShown(t *testing.T) {
	cfgs := []Config{
		{Host: "127.0.0.1", Port: 1, Name: "x", User: "u", Password: secret, SSLMode: "disable", ConnectTimeout: time.Second},
		{URL: "postgres://u:" + strings.ReplaceAll(secret, "/", "%2F") + "@127.0.0.1:1/x?sslmode=disable&connect_timeout=1"},
		{URL: "host=127.0.0.1 port=1 user=u password=" + secret + " dbname=x sslmode=disable connect_timeout=1"},
	}
	for i, cfg := range cfgs {
		js, err := json.Marshal(cfg)
		if err != nil {
			t.Fatalf("config %d: %v", i, err)
		}
		shown := []string{cfg.String(), fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", cfg), fmt.Sprint(cfg.MarshalLog()), string(js)}
		c, err := Open(cfg)
		if err != nil {
			shown = append(shown, err.Error())
		} else {
			shown = append(shown, c.String())
			err := c.Ping(context.Background())
			if err == nil {
				t.Fatalf("config %d: ping to a closed port succeeded", i)
			}
			if !IsRetryable(err) {
				t.Errorf("config %d: connection refused not retryable: %v", i, err)
			}
			shown = append(shown, err.Error(), fmt.Sprintf("%+v", err))
			if err := c.Close(); err != nil {
				t.Errorf("config %d: close: %v", i, err)
			}
		}
		for _, s := range shown {
			if strings.Contains(s, secret) || strings.Contains(s, strings.ReplaceAll(secret, "/", "%2F")) {
				t.Errorf("config %d: password shown in %q", i, s)
			}
		}
	}
	// An error whose text holds the password (as a URL parse error may) is redacted.
	c := &Client{secrets: Config{Password: secret}.secrets()}
	err := c.wrap("connect", fmt.Errorf("bad url postgres://u:%s@h/db", secret))
	if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), "xxxxx") {
		t.Fatalf("not redacted: %v", err)
	}
	if errors.Unwrap(err) != nil {
		t.Fatal("redacted error unwraps to the original text")
	}
	// A malformed URL holding a password.
	if _, err := Open(Config{URL: "postgres://u:plainsecret@host:notaport/db"}); err == nil || strings.Contains(err.Error(), "plainsecret") {
		t.Fatalf("malformed URL error: %v", err)
	} else {
		t.Logf("malformed URL error: %v", err)
	}
}
