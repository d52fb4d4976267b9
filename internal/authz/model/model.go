// Package model embeds schema.zed, the authorization model, so that the
// binary can write it to SpiceDB at start-up. schema.zed here is a generated
// copy of the one at the top of the repository, which is the one to edit.
package model

import _ "embed"

//go:generate cp ../../../schema.zed schema.zed

// Schema is the text of schema.zed.
//
//go:embed schema.zed
var Schema string
