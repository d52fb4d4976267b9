package app

import "errors"

// StopSpiceDB stops the embedded SpiceDB, leaving the rest running, so that
// tests can show that authorization fails closed.
func (a *App) StopSpiceDB() error {
	if a.embedded == nil {
		return errors.New("no embedded spicedb")
	}
	return a.embedded.Close()
}
