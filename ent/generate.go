// Package ent holds the generated ent client of pbxportal. Only schema/ and
// entc.go are written by hand; migrate/migrations holds the versioned
// migrations that cmd/migrategen writes from schema/.
package ent

//go:generate go run -mod=mod entc.go
//go:generate sh -c "cd .. && go run -mod=mod github.com/99designs/gqlgen generate"
