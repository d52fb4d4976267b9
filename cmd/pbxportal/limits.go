package main

import (
	"github.com/spf13/pflag"

	"github.com/pbxportal/pbxportal/internal/server"
)

// addLimitFlags adds the flags of the per-request limits, with their
// defaults, to fs.
func addLimitFlags(fs *pflag.FlagSet, l *server.Limits) {
	*l = server.DefaultLimits()
	fs.Int64Var(&l.MaxBodyBytes, "max-body-bytes", l.MaxBodyBytes, "largest GraphQL request body, in bytes")
	fs.IntVar(&l.MaxQueryTokens, "max-query-tokens", l.MaxQueryTokens, "most lexical tokens in a query's text")
	fs.IntVar(&l.MaxComplexity, "max-complexity", l.MaxComplexity, "highest estimated cost of an operation (a connection multiplies by its page size)")
	fs.IntVar(&l.MaxDepth, "max-depth", l.MaxDepth, "deepest nesting of selections in an operation")
	fs.IntVar(&l.MaxAliases, "max-aliases", l.MaxAliases, "most aliased fields in an operation")
	fs.IntVar(&l.MaxRootFields, "max-root-fields", l.MaxRootFields, "most root fields in an operation")
	fs.DurationVar(&l.Timeout, "request-timeout", l.Timeout, "longest time one GraphQL request may run")
}
