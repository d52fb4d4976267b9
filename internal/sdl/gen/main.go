// Command gen writes the whole GraphQL schema (sdl.Full) to the file named
// by its argument; `go generate ./internal/sdl` runs it.
package main

import (
	"fmt"
	"os"

	"github.com/pbxportal/pbxportal/internal/sdl"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: gen FILE")
		os.Exit(2)
	}
	if err := os.WriteFile(os.Args[1], []byte(sdl.Full()), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}
