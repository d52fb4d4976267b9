package authz

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestRequestOnceReadsOncePerRequest: the callers of one request with one
// key share one read, concurrent or not, and its error; another key or
// another request reads again; without a request, every call reads; a read
// that panics leaves the request's other callers an error, never a zero
// answer.
func TestRequestOnceReadsOncePerRequest(t *testing.T) {
	type key struct{ n int }
	boom := errors.New("boom")
	tests := []struct {
		name      string
		contexts  func() []context.Context // one per caller
		keys      []int                    // one per caller
		fail      error
		wantReads int32
	}{
		{"one request, one key, ten callers",
			func() []context.Context { return repeat(WithRevision(context.Background(), "t"), 10) },
			make([]int, 10), nil, 1},
		{"one request, two keys",
			func() []context.Context { return repeat(WithRevision(context.Background(), "t"), 4) },
			[]int{1, 2, 1, 2}, nil, 2},
		{"two requests at the same revision",
			func() []context.Context {
				return append(repeat(WithRevision(context.Background(), "t"), 3), repeat(WithRevision(context.Background(), "t"), 3)...)
			},
			make([]int, 6), nil, 2},
		{"no request",
			func() []context.Context { return repeat(context.Background(), 3) },
			make([]int, 3), nil, 3},
		{"a failed read is the request's answer",
			func() []context.Context { return repeat(WithRevision(context.Background(), "t"), 5) },
			make([]int, 5), boom, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var reads atomic.Int32
			ctxs := tt.contexts()
			var wg sync.WaitGroup
			for i, ctx := range ctxs {
				wg.Go(func() {
					got, err := RequestOnce(ctx, key{tt.keys[i]}, func() ([]int, error) {
						reads.Add(1)
						return []int{tt.keys[i]}, tt.fail
					})
					switch {
					case !errors.Is(err, tt.fail):
						t.Errorf("caller %d: error %v, want %v", i, err, tt.fail)
					case err == nil && (len(got) != 1 || got[0] != tt.keys[i]):
						t.Errorf("caller %d of key %d: %v", i, tt.keys[i], got)
					}
				})
			}
			wg.Wait()
			if got := reads.Load(); got != tt.wantReads {
				t.Errorf("%d reads, want %d", got, tt.wantReads)
			}
		})
	}
	t.Run("a read that panics", func(t *testing.T) {
		ctx := WithRevision(context.Background(), "t")
		func() {
			defer func() { _ = recover() }()
			_, _ = RequestOnce(ctx, key{1}, func() ([]int, error) { panic("read") })
		}()
		got, err := RequestOnce(ctx, key{1}, func() ([]int, error) { return []int{1}, nil })
		if !errors.Is(err, errReadFailed) || got != nil {
			t.Errorf("after a panicked read: %v, %v; want errReadFailed", got, err)
		}
	})
}

func repeat(ctx context.Context, n int) []context.Context {
	out := make([]context.Context, n)
	for i := range out {
		out[i] = ctx
	}
	return out
}
