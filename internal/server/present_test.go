package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/pbxportal/pbxportal/internal/apperr"
	"github.com/pbxportal/pbxportal/internal/authz"
)

// TestPresentErrorAfterTimeout: once the request's time is up, what the
// cancellation broke answers LIMIT_EXCEEDED, not INTERNAL; errors that say
// something else keep their code.
func TestPresentErrorAfterTimeout(t *testing.T) {
	expired, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	present := presentError(slog.New(slog.NewTextHandler(io.Discard, nil)))
	tests := []struct {
		name string
		ctx  context.Context
		err  error
		want apperr.Code
	}{
		{"store cancelled", expired, context.DeadlineExceeded, apperr.LimitExceeded},
		{"authz cancelled", expired, authz.ErrUnavailable, apperr.LimitExceeded},
		{"forbidden stays", expired, apperr.New(apperr.Forbidden, "no"), apperr.Forbidden},
		{"internal in time", context.Background(), errors.New("boom"), apperr.Internal},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := present(tt.ctx, tt.err)
			if got.Extensions["code"] != string(tt.want) {
				t.Errorf("code %v, want %s", got.Extensions["code"], tt.want)
			}
			if tt.want != apperr.Forbidden && (got.Message == "boom" || got.Message == context.DeadlineExceeded.Error()) {
				t.Errorf("message shows internal text: %q", got.Message)
			}
		})
	}
}
