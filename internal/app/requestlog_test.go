package app_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/pbxportal/pbxportal/internal/app"
	"github.com/pbxportal/pbxportal/internal/demo"
)

// TestRequestLog: each GraphQL request is logged once with the id returned
// in X-Request-Id, its operation, viewer and error codes, and never its
// variables or token.
func TestRequestLog(t *testing.T) {
	var logs lockedBuffer
	a, err := app.Open(context.Background(), app.Config{DataDir: t.TempDir(), Demo: true, Log: slog.New(slog.NewJSONHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	post := func(token, query string, vars map[string]any) (string, map[string]any) {
		body, _ := json.Marshal(map[string]any{"query": query, "variables": vars})
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/graphql", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var out map[string]any
		_ = json.NewDecoder(res.Body).Decode(&out)
		res.Body.Close()
		return res.Header.Get("X-Request-Id"), out
	}
	lineOf := func(id string) map[string]any {
		for _, l := range strings.Split(logs.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "request" && m["request_id"] == id {
				return m
			}
		}
		t.Fatalf("no request line for %s in:\n%s", id, logs.String())
		return nil
	}

	const login = `mutation LogIn($input: LoginInput!) { login(input: $input) { token user { id } } }`
	badID, _ := post("", login, map[string]any{"input": map[string]any{"username": "bob@acme.example", "password": "not-the-password"}})
	okID, res := post("", login, map[string]any{"input": map[string]any{"username": "bob@acme.example", "password": demo.Password}})
	token := res["data"].(map[string]any)["login"].(map[string]any)["token"].(string)
	usersID, _ := post(token, `query Users { users(first: 50) { edges { node { email } } } }`, nil)
	anonID, _ := post("", `mutation { login(input: {username: "bea@acme.example", password: "wrong-password"}) { token } }`, nil)

	cases := []struct {
		id, operation, fields, codes string
		viewer                       bool
	}{
		{badID, "LogIn", `["login"]`, `["UNAUTHENTICATED"]`, false},
		{okID, "LogIn", `["login"]`, `null`, false},
		{usersID, "Users", `["users"]`, `["FORBIDDEN"]`, true},
		{anonID, "(anonymous mutation)", `["login"]`, `["UNAUTHENTICATED"]`, false},
	}
	for _, c := range cases {
		l := lineOf(c.id)
		codes, _ := json.Marshal(l["error_codes"])
		fields, _ := json.Marshal(l["fields"])
		if l["operation"] != c.operation || string(fields) != c.fields || string(codes) != c.codes || (l["viewer"] != nil) != c.viewer {
			t.Errorf("request %s: operation %v, fields %s, codes %s, viewer %v; want %s, %s, %s, viewer %v",
				c.id, l["operation"], fields, codes, l["viewer"], c.operation, c.fields, c.codes, c.viewer)
		}
	}
	for _, secret := range []string{"not-the-password", "wrong-password", demo.Password, token, `"variables"`} {
		if strings.Contains(logs.String(), secret) {
			t.Errorf("the log holds %q", secret)
		}
	}
}
