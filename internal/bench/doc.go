// Package bench measures what field-level authorization costs: its
// benchmark (built only with -tags pbxbench) starts the real server on a
// generated tenant and times the same GraphQL queries with SpiceDB and with
// a bypass that answers every check at once. See docs/performance.md.
//
//	go test -tags pbxbench -bench Authz -benchtime 1x -run '^$' ./internal/bench
package bench
