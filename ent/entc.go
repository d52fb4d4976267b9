//go:build ignore

package main

import (
	"log"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
	"github.com/vektah/gqlparser/v2/ast"
)

func main() {
	ex, err := entgql.NewExtension(
		entgql.WithConfigPath("../gqlgen.yml"),
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("../graph/ent.graphql"),
		entgql.WithWhereInputs(true),
		entgql.WithSchemaHook(protectedFieldsAreNullable),
	)
	if err != nil {
		log.Fatalf("creating entgql extension: %v", err)
	}
	err = entc.Generate("./schema", &gen.Config{
		Features: []gen.Feature{gen.FeatureGlobalID, gen.FeatureLock, gen.FeatureExecQuery, gen.FeatureVersionedMigration},
	}, entc.Extensions(ex))
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}

// protectedFieldsAreNullable makes every field that carries @authz nullable:
// a denied field resolves to null with a FORBIDDEN error at its path (docs/product.md
// §4), and a non-null type would null its whole parent instead.
func protectedFieldsAreNullable(_ *gen.Graph, s *ast.Schema) error {
	for _, def := range s.Types {
		for _, f := range def.Fields {
			if f.Directives.ForName("authz") != nil {
				f.Type.NonNull = false
			}
		}
	}
	return nil
}
