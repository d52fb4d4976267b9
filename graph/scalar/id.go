// Package scalar holds the GraphQL scalars pbxportal binds itself.
package scalar

import (
	"github.com/99designs/gqlgen/graphql"

	"github.com/pbxportal/pbxportal/internal/apperr"
)

// MarshalID writes an ent id as a GraphQL ID. Zero is no id (ent never
// allocates it): it is what an unset optional foreign key reads, a user's
// siteID without a site, and it is written as null.
func MarshalID(id int) graphql.Marshaler {
	if id == 0 {
		return graphql.Null
	}
	return graphql.MarshalIntID(id)
}

// UnmarshalID reads a GraphQL ID. An id that is not one is BAD_USER_INPUT;
// the error presenter names the argument from the error's path.
func UnmarshalID(v any) (int, error) {
	id, err := graphql.UnmarshalIntID(v)
	if err != nil {
		return 0, apperr.BadInput("", "%v is not an id", v)
	}
	return id, nil
}
