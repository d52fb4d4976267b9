package server

import (
	"bytes"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// postJSON is gqlgen's POST transport (transport.POST, with its defaults)
// whose response is written by appendResponse instead of encoding/json's
// reflection. A narrow viewer's page carries one FORBIDDEN error per denied
// field, about 150 on a users page of 50, and encoding/json spent more on
// them (their extensions maps most of all) than on everything else of the
// response. The request side, the status codes and the content type are
// transport.POST's; TestPostJSONAnswersAsGqlgensPOST compares the two.
type postJSON struct{ transport.POST }

// Do serves one POST request, as transport.POST.Do does.
func (t postJSON) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	start := graphql.Now()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		r.Body = io.NopCloser(failingReader{err})
		t.POST.Do(w, r, exec) // gqlgen's answer to a body it cannot read
		return
	}
	var params graphql.RawParams
	if err := decodeParams(body, &params); err != nil {
		r.Body = io.NopCloser(bytes.NewReader(body))
		t.POST.Do(w, r, exec) // and to one that is not a request
		return
	}
	contentType := responseContentType(r.Header.Get("Accept"))
	w.Header().Add("Content-Type", contentType)
	params.Headers = r.Header
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	ctx := r.Context()
	rc, opErr := exec.CreateOperationContext(ctx, &params)
	if opErr != nil {
		w.WriteHeader(statusFor(opErr, contentType))
		writeResponse(w, exec.DispatchError(graphql.WithOperationContext(ctx, rc), opErr))
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	writeResponse(w, responses(ctx))
}

// failingReader fails every read with err.
type failingReader struct{ err error }

func (f failingReader) Read([]byte) (int, error) { return 0, f.err }

// decodeParams decodes a request body as transport.POST does.
func decodeParams(body []byte, params *graphql.RawParams) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	return dec.Decode(params)
}

// The JSON media types of /graphql: plainJSON is what a POST sends and
// what every answer is, unless the client asks for graphQLResponseJSON.
const (
	plainJSON           = "application/json"
	graphQLResponseJSON = "application/graphql-response+json"
)

// responseContentType is the Content-Type transport.POST answers a request
// accepting accept with: application/json unless the client asks for
// application/graphql-response+json, or accepts neither.
func responseContentType(accept string) string {
	if accept == "" {
		return plainJSON
	}
	for part := range strings.SplitSeq(accept, ",") {
		mediaType, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mediaType {
		case "*/*", "application/*", plainJSON:
			return plainJSON
		case graphQLResponseJSON:
			return graphQLResponseJSON
		}
	}
	return graphQLResponseJSON
}

// statusFor is transport.POST's status for a request that did not become an
// operation: 422 (400 for application/graphql-response+json) when errs
// are the protocol's (parsing, validation), 200 otherwise.
func statusFor(errs gqlerror.List, contentType string) int {
	if errcode.GetErrorKind(errs) != errcode.KindProtocol {
		return http.StatusOK
	}
	if contentType == graphQLResponseJSON {
		return http.StatusBadRequest
	}
	return http.StatusUnprocessableEntity
}

// writeResponse writes resp as JSON: null for no response, which gqlgen
// gives when the request's context ended before it ran (the client went
// away, or the request timed out).
func writeResponse(w io.Writer, resp *graphql.Response) {
	if resp == nil {
		_, _ = w.Write([]byte("null"))
		return
	}
	_, _ = w.Write(appendResponse(make([]byte, 0, len(resp.Data)+160*len(resp.Errors)+16), resp))
}

// appendResponse appends resp as encoding/json would encode it, but for
// its data, which gqlgen has encoded itself and which is copied as it is
// (encoding/json would only compact it again, and escape <, > and & in it).
// Incremental delivery's fields, which POST never answers with, go through
// encoding/json.
func appendResponse(b []byte, resp *graphql.Response) []byte {
	if resp.Label != "" || resp.Path != nil || resp.HasNext != nil {
		return appendJSON(b, resp)
	}
	b = append(b, '{')
	if len(resp.Errors) > 0 {
		b = append(b, `"errors":[`...)
		for i, e := range resp.Errors {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendError(b, e)
		}
		b = append(b, "],"...)
	}
	b = append(b, `"data":`...)
	if len(resp.Data) == 0 {
		b = append(b, "null"...)
	} else {
		b = append(b, resp.Data...)
	}
	if len(resp.Extensions) > 0 {
		b = append(b, `,"extensions":`...)
		b = appendMap(b, resp.Extensions)
	}
	return append(b, '}')
}

// appendError appends e as encoding/json encodes a *gqlerror.Error.
func appendError(b []byte, e *gqlerror.Error) []byte {
	if e == nil {
		return append(b, "null"...)
	}
	b = append(b, `{"message":`...)
	b = appendString(b, e.Message)
	if len(e.Path) > 0 {
		b = append(b, `,"path":[`...)
		for i, p := range e.Path {
			if i > 0 {
				b = append(b, ',')
			}
			switch p := p.(type) {
			case ast.PathIndex:
				b = strconv.AppendInt(b, int64(p), 10)
			case ast.PathName:
				b = appendString(b, string(p))
			default:
				b = appendJSON(b, p)
			}
		}
		b = append(b, ']')
	}
	if len(e.Locations) > 0 {
		b = append(b, `,"locations":[`...)
		for i, l := range e.Locations {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, '{')
			if l.Line != 0 {
				b = strconv.AppendInt(append(b, `"line":`...), int64(l.Line), 10)
			}
			if l.Column != 0 {
				if l.Line != 0 {
					b = append(b, ',')
				}
				b = strconv.AppendInt(append(b, `"column":`...), int64(l.Column), 10)
			}
			b = append(b, '}')
		}
		b = append(b, ']')
	}
	if len(e.Extensions) > 0 {
		b = append(b, `,"extensions":`...)
		b = appendMap(b, e.Extensions)
	}
	return append(b, '}')
}

// appendMap appends m with its keys sorted, as encoding/json does; its
// strings and ints directly, any other value through encoding/json.
func appendMap(b []byte, m map[string]any) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	b = append(b, '{')
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, k), ':')
		switch v := m[k].(type) {
		case string:
			b = appendString(b, v)
		case int:
			b = strconv.AppendInt(b, int64(v), 10)
		default:
			b = appendJSON(b, v)
		}
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, escaped as encoding/json escapes
// it: printable ASCII other than ", \, <, > and & as it is, anything else
// through encoding/json.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			return appendJSON(b, s)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendJSON appends v as encoding/json encodes it, or null for a value it
// refuses (a channel, say), which nothing of pbxportal puts in a response.
func appendJSON(b []byte, v any) []byte {
	out, err := json.Marshal(v)
	if err != nil {
		return append(b, "null"...)
	}
	return append(b, out...)
}
