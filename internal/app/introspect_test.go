package app_test

import (
	"encoding/json"
	"strings"
)

// typeRef is an introspected type reference: a named type wrapped in
// NON_NULL and LIST.
type typeRef struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	OfType *typeRef `json:"ofType"`
}

// named is the named type under the wrappers.
func (t *typeRef) named() string {
	for t.OfType != nil {
		t = t.OfType
	}
	return t.Name
}

// nonNull reports whether the outermost wrapper is NON_NULL.
func (t *typeRef) nonNull() bool { return t.Kind == "NON_NULL" }

// list reports whether the type is a list (under an optional NON_NULL).
func (t *typeRef) list() bool {
	if t.Kind == "NON_NULL" {
		t = t.OfType
	}
	return t.Kind == "LIST"
}

// schemaField is an introspected field or input field.
type schemaField struct {
	Name string   `json:"name"`
	Type *typeRef `json:"type"`
	Args []struct {
		Name string   `json:"name"`
		Type *typeRef `json:"type"`
	} `json:"args"`
}

// arg is the argument of the field named name, if it has one.
func (f schemaField) arg(name string) (*typeRef, bool) {
	for _, a := range f.Args {
		if a.Name == name {
			return a.Type, true
		}
	}
	return nil, false
}

// schemaType is an introspected type.
type schemaType struct {
	Kind          string        `json:"kind"`
	Name          string        `json:"name"`
	Fields        []schemaField `json:"fields"`
	InputFields   []schemaField `json:"inputFields"`
	Interfaces    []typeRef     `json:"interfaces"`
	EnumValues    []struct{ Name string }
	PossibleTypes []typeRef `json:"possibleTypes"`
}

// schema is the served GraphQL schema, by type name.
type schema map[string]schemaType

const typeRefFields = `kind name ofType { kind name ofType { kind name ofType { kind name } } }`

// introspect reads the served schema through introspection, so that the
// tests that walk it cover whatever the server serves.
func (p *portal) introspect() schema {
	p.t.Helper()
	data := p.mustDo(p.tokenFor("support@provider.example"), `{ __schema { types {
		kind name
		fields { name type { `+typeRefFields+` } args { name type { `+typeRefFields+` } } }
		inputFields { name type { `+typeRefFields+` } }
		interfaces { name }
		enumValues { name }
		possibleTypes { name }
	} } }`, nil)
	var out struct {
		Schema struct{ Types []schemaType } `json:"__schema"`
	}
	if err := json.Unmarshal(data, &out); err != nil {
		p.t.Fatal(err)
	}
	s := schema{}
	for _, t := range out.Schema.Types {
		s[t.Name] = t
	}
	return s
}

// field is the field of type typ named name.
func (s schema) field(typ, name string) (schemaField, bool) {
	for _, f := range s[typ].Fields {
		if f.Name == name {
			return f, true
		}
	}
	return schemaField{}, false
}

// isConnection reports whether a type is a Relay connection.
func isConnection(name string) bool { return strings.HasSuffix(name, "Connection") }

// nodeTypes are the object types that implement Node.
func (s schema) nodeTypes() []string {
	var out []string
	for _, t := range s["Node"].PossibleTypes {
		out = append(out, t.Name)
	}
	return out
}

// leaves selects every scalar and enum field of typ, and of its objects
// without arguments one level down (viewerCan), so that a query resolves
// everything a client could ask of one object.
func (s schema) leaves(typ string) string {
	var out []string
	for _, f := range s[typ].Fields {
		if len(f.Args) > 0 {
			continue
		}
		switch t := s[f.Type.named()]; t.Kind {
		case "SCALAR", "ENUM":
			out = append(out, f.Name)
		case "OBJECT":
			if _, isNode := s.field(t.Name, "id"); !isNode && !f.Type.list() {
				var sub []string
				for _, g := range t.Fields {
					if k := s[g.Type.named()].Kind; len(g.Args) == 0 && (k == "SCALAR" || k == "ENUM") {
						sub = append(sub, g.Name)
					}
				}
				out = append(out, f.Name+" { "+strings.Join(sub, " ")+" }")
			}
		}
	}
	return strings.Join(out, " ")
}
