package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"entgo.io/ent/schema/field"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/pbxportal/pbxportal/ent/migrate"
	"github.com/pbxportal/pbxportal/graph/generated"
	"github.com/pbxportal/pbxportal/internal/app"
)

// startLoggedPortal is startPortal with its logs kept.
func startLoggedPortal(t *testing.T) (*portal, *lockedBuffer) {
	t.Helper()
	logs := &lockedBuffer{}
	p := openPortal(t, app.Config{DataDir: t.TempDir(), Demo: true, Log: slog.New(slog.NewTextHandler(logs, nil))})
	return p, logs
}

// rawResponse is an HTTP response to a hand-made request.
type rawResponse struct {
	status int
	header http.Header
	body   response
}

// raw sends a hand-made request to /graphql.
func (p *portal) raw(method, contentType string, body io.Reader, token string) rawResponse {
	p.t.Helper()
	req, err := http.NewRequest(method, p.srv.URL+"/graphql", body)
	if err != nil {
		p.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("%s /graphql: %v", method, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	out := rawResponse{status: res.StatusCode, header: res.Header}
	if err := json.Unmarshal(b, &out.body); err != nil {
		p.t.Fatalf("response (status %d) is not a GraphQL response: %v: %.200s", res.StatusCode, err, b)
	}
	return out
}

// TestMalformedRequests: a body that is not one GraphQL request is the
// client's mistake: HTTP 400 with BAD_REQUEST, and nothing in the log that
// looks like a crash.
func TestMalformedRequests(t *testing.T) {
	p, logs := startLoggedPortal(t)
	tests := []struct {
		name, method, contentType, body string
	}{
		{"not JSON", "POST", "application/json", "this is not json"},
		{"batched array", "POST", "application/json", `[{"query":"{ viewer { id } }"},{"query":"{ viewer { id } }"}]`},
		{"empty body", "POST", "application/json", ""},
		{"truncated JSON", "POST", "application/json", `{"query": "{ viewer { id } }"`},
		{"two objects", "POST", "application/json", `{"query":"{ viewer { id } }"} {"query":"{ viewer { id } }"}`},
		{"query is a number", "POST", "application/json", `{"query": 42}`},
		{"variables are a list", "POST", "application/json", `{"query": "{ viewer { id } }", "variables": [1]}`},
		{"no query", "POST", "application/json", `{}`},
		{"query does not parse", "POST", "application/json", `{"query": "{ viewer { "}`},
		{"unknown field", "POST", "application/json", `{"query": "{ noSuchField }"}`},
		{"form body", "POST", "application/x-www-form-urlencoded", "query=%7B%7D"},
		{"no content type", "POST", "", `{"query": "{ viewer { id } }"}`},
		{"PUT", "PUT", "application/json", `{"query": "{ viewer { id } }"}`},
		{"GET without query", "GET", "", ""},
		{"GET with bad variables", "GET", "", ""},
		{"GET of a mutation", "GET", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.raw(tt.method, tt.contentType, strings.NewReader(tt.body), "")
			switch tt.name {
			case "GET with bad variables":
				r = p.rawGet(`?query={viewer{id}}&variables=not-json`)
			case "GET of a mutation":
				r = p.rawGet(`?query=mutation{logout}`)
			}
			if r.status != http.StatusBadRequest && r.status != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 400 (or 422 for a query that does not validate)", r.status)
			}
			if got := codes(r.body.Errors); len(got) == 0 || got[0] != "BAD_REQUEST" {
				t.Errorf("codes %v, want BAD_REQUEST", got)
			}
			for _, e := range r.body.Errors {
				if strings.Contains(e.Message, tt.body) && len(tt.body) > 8 {
					t.Errorf("the message echoes the body: %q", e.Message)
				}
			}
		})
	}
	for _, bad := range []string{"panic", "missing operation context", "internal error"} {
		if strings.Contains(logs.String(), bad) {
			t.Errorf("the log mentions %q:\n%s", bad, logs.String())
		}
	}
}

// rawGet sends GET /graphql with a raw query string.
func (p *portal) rawGet(query string) rawResponse {
	p.t.Helper()
	res, err := http.Get(p.srv.URL + "/graphql" + strings.ReplaceAll(query, " ", "%20"))
	if err != nil {
		p.t.Fatal(err)
	}
	defer res.Body.Close()
	out := rawResponse{status: res.StatusCode, header: res.Header}
	if err := json.NewDecoder(res.Body).Decode(&out.body); err != nil {
		p.t.Fatalf("decode: %v", err)
	}
	return out
}

// TestInputsTheStoreCannotTake: values the database would choke on are the
// client's mistake, refused before they reach it with BAD_USER_INPUT naming
// the argument.
func TestInputsTheStoreCannotTake(t *testing.T) {
	p := startPortal(t)
	olivia := p.tokenFor("olivia@acme.example")
	bob := p.tokenFor("bob@acme.example")
	ids := make([]string, 101)
	ors := make([]map[string]any, 101)
	for i := range ids {
		ids[i] = fmt.Sprint(i + 1)
		ors[i] = map[string]any{"displayName": fmt.Sprint(i)}
	}
	tests := []struct {
		name, token, query string
		vars               map[string]any
		field              string
	}{
		{"garbage cursor", bob, `{ users(after: "not-a-cursor") { totalCount } }`, nil, "after"},
		{"base64 garbage cursor", bob, `{ users(before: "gqFpAaF2gqFhAaFiAg") { totalCount } }`, nil, "before"},
		{"password over 72 bytes", olivia, `mutation($id: ID!, $pw: String!) { resetPassword(userId: $id, newPassword: $pw) { id } }`,
			map[string]any{"id": userGID(t, p, "bob@acme.example"), "pw": strings.Repeat("p", 73)}, "newPassword"},
		{"NUL byte in a stored string", bob, `mutation($d: String!) { updateMyProfile(input: {department: $d}) { id } }`,
			map[string]any{"d": "sales\x00"}, "input.department"},
		{"NUL byte in a filter", bob, `query($n: String!) { users(where: {displayNameContains: $n}) { totalCount } }`,
			map[string]any{"n": "a\x00"}, "where.displayNameContains"},
		{"over-long LIKE pattern", bob, `query($n: String!) { users(where: {displayNameContains: $n}) { totalCount } }`,
			map[string]any{"n": strings.Repeat("%_", 200)}, "where.displayNameContains"},
		{"long or list", bob, `query($or: [UserWhereInput!]) { users(where: {or: $or}) { totalCount } }`,
			map[string]any{"or": ors}, "where.or"},
		{"long idIn list", bob, `query($ids: [ID!]) { users(where: {idIn: $ids}) { totalCount } }`,
			map[string]any{"ids": ids}, "where.idIn"},
		{"over-long department", bob, `mutation($d: String!) { updateMyProfile(input: {department: $d}) { id } }`,
			map[string]any{"d": strings.Repeat("d", 101)}, "department"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := p.do(tt.token, tt.query, tt.vars)
			if len(r.Errors) != 1 || r.Errors[0].code() != "BAD_USER_INPUT" || r.Errors[0].Extensions["field"] != tt.field {
				t.Fatalf("errors %+v, want one BAD_USER_INPUT naming %q", r.Errors, tt.field)
			}
		})
	}
}

// userGID returns a demo user's global id, as support sees it.
func userGID(t *testing.T, p *portal, username string) string {
	t.Helper()
	var out struct {
		Users struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	if errs := p.as("support@provider.example", `query($u: String!) { users(where: {displayName: $u}) { edges { node { id } } } }`,
		map[string]any{"u": displayNameOf(t, p, username)}, &out); len(errs) > 0 || len(out.Users.Edges) != 1 {
		t.Fatalf("find %s: %v", username, errs)
	}
	return out.Users.Edges[0].Node.ID
}

func displayNameOf(t *testing.T, p *portal, username string) string {
	t.Helper()
	var out struct{ Viewer struct{ DisplayName string } }
	if errs := p.as(username, `{ viewer { displayName } }`, nil, &out); len(errs) > 0 {
		t.Fatal(errs)
	}
	return out.Viewer.DisplayName
}

// servedSchema is the GraphQL schema the server serves.
func servedSchema() *ast.Schema {
	return generated.NewExecutableSchema(generated.Config{}).Schema()
}

// TestEveryFilterIsBounded walks the schema: every list and every string of
// every where input of every root field is bounded, and an over-long one is
// BAD_USER_INPUT naming it, before anything runs.
func TestEveryFilterIsBounded(t *testing.T) {
	p := startPortal(t)
	bob := p.tokenFor("bob@acme.example")
	s := servedSchema()
	tried := 0
	for _, root := range s.Query.Fields {
		where := root.Arguments.ForName("where")
		if where == nil || requiredBesides(root, "where") {
			continue
		}
		in := s.Types[where.Type.Name()]
		for _, f := range in.Fields {
			var v any
			switch {
			case f.Type.Elem != nil:
				item := sampleValue(s, f.Type.Elem)
				list := make([]any, 101)
				for i := range list {
					list[i] = item
				}
				v = list
			case f.Type.NamedType == "String":
				v = strings.Repeat("a", 257)
			default:
				continue
			}
			tried++
			q := fmt.Sprintf(`query($w: %s) { %s(where: $w) { __typename } }`, in.Name, root.Name)
			r := p.do(bob, q, map[string]any{"w": map[string]any{f.Name: v}})
			if len(r.Errors) != 1 || r.Errors[0].code() != "BAD_USER_INPUT" || r.Errors[0].Extensions["field"] != "where."+f.Name {
				t.Errorf("%s(where: {%s: <too long>}): errors %+v, want one BAD_USER_INPUT naming where.%s", root.Name, f.Name, r.Errors, f.Name)
			}
		}
	}
	if tried < 50 {
		t.Fatalf("only %d filter fields tried; the walk misses the schema", tried)
	}
}

// TestEveryMutationStringRefusesNUL walks the schema: a NUL byte in any
// string of any mutation's arguments is BAD_USER_INPUT naming it, before
// the mutation runs (PostgreSQL cannot store it).
func TestEveryMutationStringRefusesNUL(t *testing.T) {
	p := startPortal(t)
	s := servedSchema()
	tried := 0
	for _, m := range s.Mutation.Fields {
		for _, target := range stringPaths(s, m.Arguments) {
			vars := map[string]any{}
			var decls, args []string
			for _, a := range m.Arguments {
				v := requiredValue(s, a.Type, a.Name, target)
				if v == nil {
					continue
				}
				vars[a.Name] = v
				decls = append(decls, fmt.Sprintf("$%s: %s", a.Name, a.Type.String()))
				args = append(args, fmt.Sprintf("%s: $%s", a.Name, a.Name))
			}
			q := fmt.Sprintf(`mutation(%s) { %s(%s) { __typename } }`, strings.Join(decls, ", "), m.Name, strings.Join(args, ", "))
			tried++
			r := p.do("", q, vars)
			if len(r.Errors) != 1 || r.Errors[0].code() != "BAD_USER_INPUT" || r.Errors[0].Extensions["field"] != target {
				t.Errorf("%s with a NUL byte in %s: errors %+v, want one BAD_USER_INPUT naming it", m.Name, target, r.Errors)
			}
		}
	}
	if tried < 20 {
		t.Fatalf("only %d mutation strings tried; the walk misses the schema", tried)
	}
}

// requiredBesides reports whether field has a required argument other than name.
func requiredBesides(f *ast.FieldDefinition, name string) bool {
	for _, a := range f.Arguments {
		if a.Name != name && a.Type.NonNull && a.DefaultValue == nil {
			return true
		}
	}
	return false
}

// stringPaths lists the dotted paths of every String in the arguments,
// through input objects (a few levels: enough for every mutation input).
func stringPaths(s *ast.Schema, args ast.ArgumentDefinitionList) []string {
	var out []string
	var walk func(t *ast.Type, path string, depth int)
	walk = func(t *ast.Type, path string, depth int) {
		if t.Elem != nil {
			walk(t.Elem, path, depth)
			return
		}
		def := s.Types[t.NamedType]
		switch {
		case t.NamedType == "String":
			out = append(out, path)
		case def.Kind == ast.InputObject && depth < 3:
			for _, f := range def.Fields {
				walk(f.Type, path+"."+f.Name, depth+1)
			}
		}
	}
	for _, a := range args {
		walk(a.Type, a.Name, 0)
	}
	return out
}

// requiredValue builds a value of type t at path holding the required
// fields only, with a NUL byte at target; nil when nothing is needed.
func requiredValue(s *ast.Schema, t *ast.Type, path, target string) any {
	if path == target {
		if t.Elem != nil {
			return []any{"bad\x00"}
		}
		return "bad\x00"
	}
	onPath := strings.HasPrefix(target, path+".")
	if !t.NonNull && !onPath {
		return nil
	}
	if t.Elem != nil {
		if v := requiredValue(s, t.Elem, path, target); v != nil {
			return []any{v}
		}
		return []any{}
	}
	def := s.Types[t.NamedType]
	if def.Kind != ast.InputObject {
		return sampleValue(s, t)
	}
	obj := map[string]any{}
	for _, f := range def.Fields {
		if v := requiredValue(s, f.Type, path+"."+f.Name, target); v != nil {
			obj[f.Name] = v
		}
	}
	return obj
}

// sampleValue is a valid value of a named type, for filling inputs.
func sampleValue(s *ast.Schema, t *ast.Type) any {
	def := s.Types[t.Name()]
	switch {
	case def.Kind == ast.Enum:
		return def.EnumValues[0].Name
	case def.Kind == ast.InputObject:
		return map[string]any{}
	case t.Name() == "Int":
		return 1
	case t.Name() == "Float":
		return 1.5
	case t.Name() == "Boolean":
		return true
	case t.Name() == "Time":
		return "2026-01-01T00:00:00Z"
	default:
		return "1"
	}
}

// TestEveryStoredStringIsBounded walks the tables ent generates: every
// string column has a maximum length, which ent checks before a write
// (BAD_USER_INPUT naming the field).
func TestEveryStoredStringIsBounded(t *testing.T) {
	columns := 0
	for _, table := range migrate.Tables {
		for _, c := range table.Columns {
			if c.Type != field.TypeString {
				continue
			}
			columns++
			if c.Size <= 0 {
				t.Errorf("%s.%s has no maximum length: give it MaxLen in ent/schema", table.Name, c.Name)
			}
		}
	}
	if columns < 30 {
		t.Fatalf("only %d string columns walked", columns)
	}
}
