package app_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// filler is a reader of n bytes of a JSON request whose query is one long
// string, without holding them in memory.
type filler struct {
	n, sent int64
	head    string
}

func (f *filler) Read(p []byte) (int, error) {
	if f.sent >= f.n {
		return 0, io.EOF
	}
	i := 0
	for ; i < len(p) && f.sent < f.n; i++ {
		if f.sent < int64(len(f.head)) {
			p[i] = f.head[f.sent]
		} else {
			p[i] = 'a'
		}
		f.sent++
	}
	return i, nil
}

// aliases repeats field under n aliases.
func aliases(n int, field string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " a%d: %s", i, field)
	}
	b.WriteString(" }")
	return b.String()
}

// nestedGroups nests groups{members{groups{...}}} under the groups
// connection until the selection is levels deep.
func nestedGroups(levels int) string {
	inner := "id"
	for i := range levels - 3 {
		if i%2 == 0 {
			inner = "members { " + inner + " }"
		} else {
			inner = "groups { " + inner + " }"
		}
	}
	return "{ groups { edges { node { " + inner + " } } } }"
}

// fragmentBomb is a query of n fragments, each spreading the one before
// twice: 2^n fields once expanded.
func fragmentBomb(n int) string {
	var b strings.Builder
	b.WriteString("{ viewer { ...F0 } }\nfragment F0 on User { id displayName }\n")
	for i := 1; i <= n; i++ {
		fmt.Fprintf(&b, "fragment F%d on User { ...F%d groups { members { ...F%d } } }\n", i, i-1, i-1)
	}
	return strings.Replace(b.String(), "...F0 } }", fmt.Sprintf("...F%d } }", n), 1)
}

// TestHostileRequestsAreRefusedCheaply sends each attack of a hostile
// client with one ordinary account (or none) and checks that it is refused
// before it runs (no data, LIMIT_EXCEEDED), that it allocates little, and
// that an ordinary request answered meanwhile is served in full.
func TestHostileRequestsAreRefusedCheaply(t *testing.T) {
	p := startPortal(t)
	bob, olivia := p.tokenFor("bob@acme.example"), p.tokenFor("olivia@acme.example")
	const mb = 1 << 20
	asJSON := func(query string) string {
		b, _ := json.Marshal(map[string]any{"query": query})
		return string(b)
	}
	department := `{"query":"mutation($d: String!) { updateMyProfile(input: {department: $d}) { id } }","variables":{"d":"`
	tests := []struct {
		name   string
		token  string
		body   func() io.Reader
		length int64 // the Content-Length sent; -1 for a chunked body
		status int
	}{
		{"60 aliases of a 100-user page", bob, func() io.Reader {
			return strings.NewReader(asJSON(aliases(60, "users(first: 100) { edges { node { department } } }")))
		}, 0, http.StatusUnprocessableEntity},
		{"29 aliases of a 1000-user page (cost alone)", bob, func() io.Reader {
			return strings.NewReader(asJSON(aliases(29, "users(first: 1000) { edges { node { department } } }")))
		}, 0, http.StatusUnprocessableEntity},
		{"10,000 aliases of users", bob, func() io.Reader {
			return strings.NewReader(asJSON(aliases(10_000, "users { edges { node { id email } } }")))
		}, 0, http.StatusUnprocessableEntity},
		{"groups{members{groups...}} 18 deep", olivia, func() io.Reader {
			return strings.NewReader(asJSON(nestedGroups(18)))
		}, 0, http.StatusUnprocessableEntity},
		{"groups{members{groups...}} 12 deep (cost alone)", olivia, func() io.Reader {
			return strings.NewReader(asJSON(nestedGroups(12)))
		}, 0, http.StatusUnprocessableEntity},
		{"fragment bomb: 2^30 fields through 30 fragments", bob, func() io.Reader {
			return strings.NewReader(asJSON(fragmentBomb(30)))
		}, 0, http.StatusUnprocessableEntity},
		{"100 MB body without a token, chunked", "", func() io.Reader {
			return &filler{n: 100 * mb, head: `{"query":"`}
		}, -1, http.StatusRequestEntityTooLarge},
		{"100 MB body without a token, announced", "", func() io.Reader {
			return &filler{n: 100 * mb, head: `{"query":"`}
		}, 100 * mb, http.StatusRequestEntityTooLarge},
		{"8 MB department", bob, func() io.Reader {
			return &filler{n: 8 * mb, head: department}
		}, -1, http.StatusRequestEntityTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.GC()
			runtime.ReadMemStats(&before)
			res := p.attack(tt.token, tt.body(), tt.length)
			runtime.ReadMemStats(&after)
			if res.status != tt.status {
				t.Errorf("status %d, want %d", res.status, tt.status)
			}
			if len(res.body.Data) > 0 && string(res.body.Data) != "null" {
				t.Errorf("the attack ran: data %.200s", res.body.Data)
			}
			if got := codes(res.body.Errors); len(got) != 1 || got[0] != "LIMIT_EXCEEDED" {
				t.Errorf("codes %v, want [LIMIT_EXCEEDED]: %+v", got, res.body.Errors)
			}
			// Everything this process allocated for the attack, client and
			// server: the server reads at most 1 MiB of a body and never
			// runs the query.
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 64*mb {
				t.Errorf("the attack allocated %d MiB", alloc/mb)
			}
		})
	}

	t.Run("an ordinary request is served while attacks run", func(t *testing.T) {
		var wg sync.WaitGroup
		stop := make(chan struct{})
		refused := make(chan []string, 64)
		heavy := asJSON(aliases(10_000, "users { edges { node { id email } } }"))
		costly := asJSON(aliases(29, "users(first: 1000) { edges { node { department } } }"))
		for i := range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					body := heavy
					if i%2 == 1 {
						body = costly
					}
					res := p.attack(bob, strings.NewReader(body), 0)
					select {
					case refused <- codes(res.body.Errors):
					default:
					}
				}
			}()
		}
		for range 20 {
			var out struct {
				Users struct{ TotalCount int }
			}
			if errs := p.as("olivia@acme.example", `{ users(first: 20) { totalCount edges { node { displayName department } } } }`, nil, &out); len(errs) > 0 || out.Users.TotalCount == 0 {
				t.Errorf("an ordinary request during the attack: errors %v, %d users", errs, out.Users.TotalCount)
			}
		}
		close(stop)
		wg.Wait()
		close(refused)
		n := 0
		for c := range refused {
			n++
			if len(c) != 1 || c[0] != "LIMIT_EXCEEDED" {
				t.Errorf("an attack during the ordinary requests answered %v", c)
			}
		}
		if n == 0 {
			t.Error("no attack ran during the ordinary requests")
		}
	})
}

// attack posts body as the holder of token; length is the Content-Length to
// announce (0: the body's own, -1: chunked).
func (p *portal) attack(token string, body io.Reader, length int64) rawResponse {
	p.t.Helper()
	req, err := http.NewRequest(http.MethodPost, p.srv.URL+"/graphql", body)
	if err != nil {
		p.t.Fatal(err)
	}
	switch {
	case length < 0:
		req.ContentLength = -1
	case length > 0:
		req.ContentLength = length
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		p.t.Fatalf("post: %v", err)
	}
	defer res.Body.Close()
	out := rawResponse{status: res.StatusCode, header: res.Header}
	b, _ := io.ReadAll(res.Body)
	if err := json.Unmarshal(b, &out.body); err != nil {
		p.t.Fatalf("response (status %d) is not a GraphQL response: %v: %.200s", res.StatusCode, err, b)
	}
	return out
}
