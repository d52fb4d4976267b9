// Package schema holds the ent schemas of pbxportal: one file per entity.
package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// Permissions named by the @authz directive. They are permissions of schema.zed.
const (
	// PermViewPrivate guards a user's private fields (SPEC §3.3).
	PermViewPrivate = "view_private"
)

// authz attaches the @authz(permission: ...) directive to a field or edge. The
// directive asks SpiceDB, through the per-request batcher, whether the viewer
// holds the permission on the object that owns the field.
func authz(permission string) entgql.Annotation {
	return entgql.Directives(entgql.NewDirective("authz", &ast.Argument{
		Name:  "permission",
		Value: &ast.Value{Raw: permission, Kind: ast.StringValue},
	}))
}

// private guards a field with view_private; private fields are nullable in
// GraphQL, so a denial nulls only that field.
// They are also left out of the where inputs, so that a filter cannot be used
// to guess a value the viewer may not read.
func private() entgql.Annotation {
	a := authz(PermViewPrivate)
	a.Skip = entgql.SkipWhereInput
	return a
}

// readOnly keeps a field out of the generated create and update inputs.
func readOnly() entgql.Annotation {
	return entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)
}

// listable gives a type a Relay connection, a root query field, where and order inputs, and
// create and update inputs.
func listable() []schema.Annotation {
	return []schema.Annotation{
		entgql.RelayConnection(),
		entgql.QueryField(),
		entgql.Mutations(entgql.MutationCreate(), entgql.MutationUpdate()),
	}
}
