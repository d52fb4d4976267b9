// Package validate checks a zed validation file (schemaFile, relationships,
// assertions, expected relations) with SpiceDB's own development code, as
// `zed validate` does.
package validate

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/authzed/spicedb/pkg/development"
	devinterface "github.com/authzed/spicedb/pkg/proto/developer/v1"
)

// Failure is one problem found in a validation file: a schema or
// relationship error, a failed assertion, or an expected-relations mismatch.
type Failure struct {
	Line, Column uint32
	Message      string
	// Context is the assertion or relationship at fault.
	Context string
}

func (f Failure) String() string {
	if f.Context != "" {
		return fmt.Sprintf("line %d: %s (%s)", f.Line, f.Message, f.Context)
	}
	return fmt.Sprintf("line %d: %s", f.Line, f.Message)
}

// File validates the validation file at path. A schemaFile it names is read
// relative to the file's directory. It returns the failures; the error is
// for a file that cannot be read or parsed at all.
func File(ctx context.Context, path string) ([]Failure, error) {
	contents, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("validate: %w", err)
	}
	yctx, devErrs, err := development.NewDevContextForYAML(ctx, contents,
		development.WithSourceFS(os.DirFS(filepath.Dir(path))))
	if err != nil {
		return nil, fmt.Errorf("validate %s: %w", path, err)
	}
	if devErrs != nil {
		return failures(devErrs.GetInputErrors()), nil
	}
	defer yctx.DevContext.Dispose()

	errs, err := development.RunAllAssertions(yctx.DevContext, &yctx.Assertions)
	if err != nil {
		return nil, fmt.Errorf("validate %s: assertions: %w", path, err)
	}
	_, verrs, err := development.RunValidation(yctx.DevContext, &yctx.ExpectedRelations)
	if err != nil {
		return nil, fmt.Errorf("validate %s: expected relations: %w", path, err)
	}
	return failures(append(errs, verrs...)), nil
}

func failures(errs []*devinterface.DeveloperError) []Failure {
	out := make([]Failure, len(errs))
	for i, e := range errs {
		out[i] = Failure{Line: e.GetLine(), Column: e.GetColumn(), Message: e.GetMessage(), Context: e.GetContext()}
	}
	return out
}
