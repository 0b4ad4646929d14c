package web

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"
)

// apiSpec is web/openapi.json, loaded, checked as an OpenAPI document and
// routed once for every test.
var apiSpec = sync.OnceValues(func() (routers.Router, error) {
	doc, err := openapi3.NewLoader().LoadFromData(openAPI)
	if err != nil {
		return nil, fmt.Errorf("web/openapi.json: %w", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		return nil, fmt.Errorf("web/openapi.json is not a valid OpenAPI document: %w", err)
	}
	router, err := legacy.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("web/openapi.json: %w", err)
	}
	return router, nil
})

// checkResponse checks one response against web/openapi.json: its status
// must be documented for the operation and its body must match the
// documented schema. Requests for paths the document does not describe
// are not checked (the server answers them 404 itself).
func checkResponse(r *http.Request, status int, header http.Header, body []byte) error {
	router, err := apiSpec()
	if err != nil {
		return err
	}
	route, params, err := router.FindRoute(r)
	if _, ok := errors.AsType[*routers.RouteError](err); ok {
		return nil // no such path or method: the server's catch-all 404
	}
	if err != nil {
		return fmt.Errorf("routing %s %s: %w", r.Method, r.URL.Path, err)
	}
	err = openapi3filter.ValidateResponse(r.Context(), &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: r, PathParams: params, Route: route},
		Status:                 status,
		Header:                 header,
		Body:                   io.NopCloser(bytes.NewReader(body)),
		Options:                &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true},
	})
	if err != nil {
		return fmt.Errorf("%s %s answered %d, which web/openapi.json does not allow: %w\nbody: %.600s", r.Method, r.URL.Path, status, err, body)
	}
	return nil
}

// validateAPI wraps a server so that every API response it gives is
// checked against web/openapi.json; a mismatch fails t. WebSocket
// connections, once upgraded, are not checked.
func validateAPI(t testing.TB, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/") {
			h.ServeHTTP(w, r)
			return
		}
		rec := &recordingWriter{ResponseWriter: w}
		h.ServeHTTP(rec, r)
		if rec.hijacked {
			return
		}
		if rec.status == 0 {
			rec.status = http.StatusOK
		}
		if err := checkResponse(r, rec.status, w.Header(), rec.body.Bytes()); err != nil {
			t.Errorf("API response: %v", err)
		}
	})
}

// recordingWriter passes a response on and keeps a copy of it.
type recordingWriter struct {
	http.ResponseWriter
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *recordingWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *recordingWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	w.body.Write(b)
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *recordingWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Hijack hands the connection to a WebSocket upgrade.
func (w *recordingWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	w.hijacked = true
	return http.NewResponseController(w.ResponseWriter).Hijack()
}

// TestCheckResponse shows that the check fails on what typed responses
// could silently get wrong: a null for a list, a field dropped or added.
func TestCheckResponse(t *testing.T) {
	session := `{"id":"s1","lab":"web-test","state":"ready","services":[],"created_at":"2026-01-02T03:04:05Z","expires_at":"2026-01-02T04:04:05Z",` +
		`"idle_timeout_seconds":900,"terminals":[],"checking":false,"hints":{},"last_check":null}`
	for _, tc := range []struct {
		name, method, path string
		status             int
		contentType, body  string
		wantErr            string // "" when the response is allowed
	}{
		{"empty catalog", "GET", "/api/labs", 200, "application/json", `[]`, ""},
		{"null for an array", "GET", "/api/labs", 200, "application/json", `null`, "doesn't match schema"},
		{"null for a nested array", "GET", "/api/sessions/s1", 200, "application/json", strings.Replace(session, `"terminals":[]`, `"terminals":null`, 1), "terminals"},
		{"a session", "GET", "/api/sessions/s1", 200, "application/json", session, ""},
		{"a field left out", "GET", "/api/me", 200, "application/json", `{"user":{"id":"local","name":"You","role":"learner"}}`, "auth"},
		{"an undocumented field", "GET", "/api/me", 200, "application/json", `{"user":{"id":"local","name":"You","role":"learner"},"auth":false,"admin":true}`, "admin"},
		{"undocumented status", "GET", "/api/labs", 201, "application/json", `[]`, "status is not supported"},
		{"an error", "GET", "/api/labs", 404, "application/json", `{"error":"no such lab: x"}`, ""},
		{"an error without its message", "GET", "/api/labs", 404, "application/json", `{"advice":"x"}`, "error"},
		{"not JSON", "GET", "/api/labs", 200, "text/plain", `[]`, "Content-Type"},
		{"a path the document does not have", "GET", "/api/nothing", 404, "application/json", `{"error":"no such API endpoint"}`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(tc.method, tc.path, nil)
			err := checkResponse(r, tc.status, http.Header{"Content-Type": {tc.contentType}}, []byte(tc.body))
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("refused: %v", err)
			case tc.wantErr != "" && err == nil:
				t.Errorf("allowed, want an error about %q", tc.wantErr)
			case tc.wantErr != "" && !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(tc.wantErr)):
				t.Errorf("error %q does not mention %q", err, tc.wantErr)
			}
		})
	}
}
