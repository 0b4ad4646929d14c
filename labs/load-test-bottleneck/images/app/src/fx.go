package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// fxClient converts amounts with the FX provider's live rates. One client
// is shared by every request of the service.
type fxClient struct {
	base string
	http *http.Client

	// mu guards the fields below: one conversion at a time.
	mu    sync.Mutex
	req   conversion // the conversion in progress, reused to spare allocations
	calls int64      // conversions done, shown by GET /stats
}

// conversion is one amount converted from one currency to another.
type conversion struct {
	From, To string
	Cents    int64   // amount in From
	Rate     float64 // From → To, from the provider
}

func newFXClient(base string) *fxClient {
	return &fxClient{base: base, http: &http.Client{Timeout: 5 * time.Second}}
}

// Convert converts cents of from into to at the provider's current rate,
// rounded to the nearest cent. It returns the amount and the rate used.
func (c *fxClient) Convert(ctx context.Context, cents int64, from, to string) (int64, float64, error) {
	c.mu.Lock()
	defer c.mu.Unlock()

	c.req = conversion{From: from, To: to, Cents: cents}
	if err := c.fetchRate(ctx); err != nil {
		return 0, 0, err
	}
	c.calls++
	return int64(math.Round(float64(c.req.Cents) * c.req.Rate)), c.req.Rate, nil
}

// fetchRate asks the provider for the rate of c.req and stores it there.
func (c *fxClient) fetchRate(ctx context.Context) error {
	u := fmt.Sprintf("%s/rates/%s/%s", c.base, url.PathEscape(c.req.From), url.PathEscape(c.req.To))
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	res, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("fx provider: %w", err)
	}
	defer res.Body.Close()
	if res.StatusCode == http.StatusNotFound {
		return errUnknownCurrency
	}
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("fx provider: %s", res.Status)
	}
	var body struct {
		Rate float64 `json:"rate"`
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		return fmt.Errorf("fx provider: %w", err)
	}
	c.req.Rate = body.Rate
	return nil
}

// Calls returns the number of conversions done so far.
func (c *fxClient) Calls() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls
}
