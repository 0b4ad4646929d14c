package checker

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"time"
)

// HTTPClient is the client the HTTP helpers use. Its timeout bounds one
// request; contexts bound the whole wait.
var HTTPClient = &http.Client{Timeout: 15 * time.Second}

// maxBody caps what the helpers read of a response.
const maxBody = 8 << 20

// GetText requests url and returns the status and body.
func GetText(ctx context.Context, url string) (status int, body string, err error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", fmt.Errorf("GET %s: %w", url, err)
	}
	resp, err := HTTPClient.Do(req)
	if err != nil {
		return 0, "", err // already says "Get URL: …"
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return resp.StatusCode, "", fmt.Errorf("GET %s: read body: %w", url, err)
	}
	return resp.StatusCode, string(b), nil
}

// GetJSON requests url and, when the status is 2xx, decodes the body into
// v. A body that is not the JSON v expects is an error that quotes it.
func GetJSON(ctx context.Context, url string, v any) (status int, err error) {
	status, body, err := GetText(ctx, url)
	if err != nil || status < 200 || status > 299 {
		return status, err
	}
	if err := json.Unmarshal([]byte(body), v); err != nil {
		if len(body) > 200 {
			body = body[:200] + "…"
		}
		return status, fmt.Errorf("GET %s: the response is not the JSON expected (%v): %s", url, err, body)
	}
	return status, nil
}

// WaitHTTP requests url until it answers with a status below 500 or ctx
// ends.
func WaitHTTP(ctx context.Context, url string) error {
	for {
		status, _, err := GetText(ctx, url)
		if err == nil && status < 500 {
			return nil
		}
		if err == nil {
			err = fmt.Errorf("status %d", status)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s did not answer: %w", url, errors.Join(ctx.Err(), err))
		case <-time.After(200 * time.Millisecond):
		}
	}
}

const letters = "abcdefghijklmnopqrstuvwxyz0123456789"

// RandString returns n random lower-case letters and digits, for data a
// learner cannot have guessed.
func RandString(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = letters[rand.IntN(len(letters))]
	}
	return string(b)
}

// RandInt returns a random integer in [lo, hi].
func RandInt(lo, hi int) int {
	if hi <= lo {
		return lo
	}
	return lo + rand.IntN(hi-lo+1)
}
