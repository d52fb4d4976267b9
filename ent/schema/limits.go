package schema

// Maximum lengths, in bytes, of stored strings. Every string field has one:
// an over-long value is refused by ent's validator (BAD_USER_INPUT naming
// the field) before it reaches the database, so no client can store a
// string that costs every reader of it.
const (
	// maxName bounds names, labels, departments and roles.
	maxName = 100
	// maxNumber bounds extensions, phone numbers and call identifiers.
	maxNumber = 64
	// maxEmail is the longest address RFC 5321 allows.
	maxEmail = 254
	// maxInternal bounds values the server itself writes: audit targets,
	// token ids, hashes and file names.
	maxInternal = 255
	// maxToken bounds ZedTokens and relationships.
	maxToken = 1024
)
