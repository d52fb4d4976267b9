package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"net/url"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"

	"github.com/pbxportal/pbxportal/internal/apperr"
)

// guardRequest answers, before any GraphQL machinery runs, a request that is
// not one: a body over the limit (413, LIMIT_EXCEEDED), a POST whose body is
// not one JSON object of a GraphQL request (400, BAD_REQUEST: a batch, a
// non-JSON body), or a method or content type no transport serves (400). It
// also bounds how long the request may run. Upgrades to a websocket pass
// untouched: they are long-lived by design.
func guardRequest(l Limits, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if isWebSocket(r.Header) {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > l.MaxBodyBytes {
			refuse(w, http.StatusRequestEntityTooLarge, apperr.LimitExceeded, "the request body exceeds %d bytes", l.MaxBodyBytes)
			return
		}
		switch {
		case r.Method == http.MethodOptions:
		case r.Method == http.MethodGet:
			if msg := badGet(r, l); msg != "" {
				refuse(w, http.StatusBadRequest, apperr.BadRequest, "%s", msg)
				return
			}
		case r.Method == http.MethodPost && mediaType(r) == plainJSON:
			body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, l.MaxBodyBytes))
			var tooLarge *http.MaxBytesError
			switch {
			case errors.As(err, &tooLarge):
				refuse(w, http.StatusRequestEntityTooLarge, apperr.LimitExceeded, "the request body exceeds %d bytes", l.MaxBodyBytes)
				return
			case err != nil:
				refuse(w, http.StatusBadRequest, apperr.BadRequest, "the request body could not be read")
				return
			case !oneRequest(body):
				refuse(w, http.StatusBadRequest, apperr.BadRequest,
					`the body must be one JSON object {"query": ..., "variables": {...}, "operationName": ...}; batches are not served`)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		default:
			refuse(w, http.StatusBadRequest, apperr.BadRequest, "send GET, or POST with Content-Type: application/json")
			return
		}
		ctx, cancel := context.WithTimeout(r.Context(), l.Timeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// badGet says what is wrong with a GET request that the GET transport would
// refuse by itself, outside the error presenter: a query string that does
// not parse, variables or extensions that are not JSON objects, or an
// operation other than a query. It is "" for a request the transport can
// serve.
func badGet(r *http.Request, l Limits) string {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return "the URL's query string does not parse"
	}
	for _, name := range []string{"variables", "extensions"} {
		if v := q.Get(name); v != "" {
			var obj map[string]any
			if json.Unmarshal([]byte(v), &obj) != nil {
				return name + " must be a JSON object"
			}
		}
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: q.Get("query")}, l.MaxQueryTokens)
	if err != nil {
		return "" // the executor reports it, through the presenter
	}
	if op := doc.Operations.ForName(q.Get("operationName")); op != nil && op.Operation != ast.Query {
		return "GET serves queries only; send a " + string(op.Operation) + " with POST"
	}
	return ""
}

// mediaType is the request's Content-Type without parameters.
func mediaType(r *http.Request) string {
	t, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return t
}

// oneRequest reports whether body is exactly one JSON object that decodes
// as a GraphQL request, as the POST transport decodes it.
func oneRequest(body []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var p graphql.RawParams
	if err := dec.Decode(&p); err != nil {
		return false
	}
	_, err := dec.Token()
	return errors.Is(err, io.EOF)
}

// refuse writes a GraphQL error response that no resolver produced, with a
// contract code and an HTTP status.
func refuse(w http.ResponseWriter, status int, code apperr.Code, format string, args ...any) {
	e := apperr.New(code, format, args...)
	w.Header().Set("Content-Type", plainJSON)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": e.Message, "extensions": map[string]any{"code": string(code)}}},
	})
}
