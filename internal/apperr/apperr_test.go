package apperr_test

import (
	"fmt"
	"testing"

	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/authz"
	"github.com/pbxportal/pbxportal/internal/dbwrite"
)

// TestClassifyRetryable: errors a client may simply retry get a code that
// says so, never INTERNAL.
func TestClassifyRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want apperr.Code
	}{
		{"SQLite's write slot stayed busy", fmt.Errorf("save: %w", dbwrite.ErrBusy), apperr.Conflict},
		{"SpiceDB unavailable", fmt.Errorf("check: %w", authz.ErrUnavailable), apperr.AuthzUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := apperr.Classify(tt.err).Code; got != tt.want {
				t.Fatalf("code %s, want %s", got, tt.want)
			}
		})
	}
}
