// Package pgtest gives tests a fresh schema of the PostgreSQL database named
// by PBXPORTAL_TEST_DATABASE_URL.
package pgtest

import (
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"testing"

	_ "github.com/jackc/pgx/v5/stdlib" // PostgreSQL driver "pgx"
)

// EnvURL is the variable that names the test database.
const EnvURL = "PBXPORTAL_TEST_DATABASE_URL"

// URL creates an empty schema in the test database and returns a URL whose
// connections use it (search_path); the schema is dropped when the test
// ends. Without PBXPORTAL_TEST_DATABASE_URL it skips the test.
func URL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		t.Skip(EnvURL + " is not set; skipping the PostgreSQL test")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "pbxportal_test_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec("DROP SCHEMA " + schema + " CASCADE")
		_ = db.Close()
	})
	if _, err := db.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("create schema: %v", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// Open returns a pool on url, closed when the test ends.
func Open(t testing.TB, url string) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Database creates an empty database on the server of the test database and
// returns its URL; it is dropped when the test ends. It is for what needs a
// database of its own, such as SpiceDB's datastore. Without
// PBXPORTAL_TEST_DATABASE_URL it skips the test.
func Database(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		t.Skip(EnvURL + " is not set; skipping the PostgreSQL test")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := "pbxportal_test_db_" + hex.EncodeToString(b)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE " + name + " WITH (FORCE)")
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path, u.RawQuery = "/"+name, "sslmode=disable"
	return u.String()
}
