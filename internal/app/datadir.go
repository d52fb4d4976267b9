package app

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// secureDataDir makes the data dir and every directory in it 0700, and every
// file in it 0600, whatever modes they had: it holds the database (password
// hashes) and the signing key, which no other local user may read. Symbolic
// links are left alone, not followed.
func secureDataDir(dir string) error {
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.Chmod(path, 0o700)
		case d.Type().IsRegular():
			return os.Chmod(path, 0o600)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("data dir: make it private: %w", err)
	}
	return nil
}
