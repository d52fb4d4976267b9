package main

import (
	"fmt"
	"runtime/debug"
)

// spiceDBModule is the module whose version is the embedded SpiceDB's.
const spiceDBModule = "github.com/authzed/spicedb"

// versionString is what --version prints: pbxportal's version, the commit
// it was built from (with "+dirty" for uncommitted changes), and the
// embedded SpiceDB's version, all from the binary's build information.
func versionString() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown (built without module information)\n"
	}
	return formatVersion(info)
}

func formatVersion(info *debug.BuildInfo) string {
	version, commit, dirty, spicedb := info.Main.Version, "unknown", "", "unknown"
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			commit = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	for _, d := range info.Deps {
		if d.Path == spiceDBModule {
			spicedb = d.Version
			if d.Replace != nil {
				spicedb = d.Replace.Version
			}
		}
	}
	if version == "" {
		version = "(devel)"
	}
	return fmt.Sprintf("pbxportal %s\ncommit %s%s\nspicedb %s\ngo %s\n", version, commit, dirty, spicedb, info.GoVersion)
}
