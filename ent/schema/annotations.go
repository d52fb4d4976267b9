// Package schema holds the ent schemas of pbxportal: one file per entity.
package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent/schema"
	"github.com/vektah/gqlparser/v2/ast"
)

// Permissions named by the @authz directive. They are permissions of schema.zed.
const (
	// PermViewPrivate guards a user's private fields (docs/product.md §3.3).
	PermViewPrivate = "view_private"
	// PermViewCallHistory guards a user's call records (docs/product.md §3.12).
	PermViewCallHistory = "view_call_history"
	// PermReadCallHandling guards the callHandling menu's data (docs/product.md §3.9).
	PermReadCallHandling = "read_call_handling"
	// PermReadPersonalDirectory guards a user's personal directory (docs/product.md §3.9, §3.13).
	PermReadPersonalDirectory = "read_personal_directory"
	// PermReadButtonProgramming guards a user's buttons (docs/product.md §3.9).
	PermReadButtonProgramming = "read_button_programming"
	// PermViewAgentStatus guards a queue's agents and their real-time state (docs/product.md §3.8).
	PermViewAgentStatus = "view_agent_status"
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

// guarded guards a field or edge with a permission. Guarded fields are
// nullable in GraphQL (see entc.go), so a denial nulls only that field, and
// they are left out of the where inputs, so that a filter cannot be used to
// guess a value the viewer may not read.
func guarded(permission string) entgql.Annotation {
	a := authz(permission)
	a.Skip = entgql.SkipWhereInput
	return a
}

// private guards a user's private field (docs/product.md §3.3).
func private() entgql.Annotation { return guarded(PermViewPrivate) }

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
