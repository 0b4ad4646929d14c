// Command fx-provider stands in for the third-party foreign-exchange API
// the quotes service calls: GET /rates/{from}/{to} answers the current
// rate after the provider's usual latency (FX_LATENCY, default 25ms). It
// serves many callers at once, as the real provider does.
//
// POST /admin/rates (with the X-Admin-Token of FX_ADMIN_TOKEN) replaces
// rates, e.g. {"USD/EUR": 0.9213}: the lab's checker publishes rates of
// its own before it checks the quotes, and changes them while it checks.
// POST /admin/faults (same token), e.g. {"USD/SEK": "6s"}, makes the
// provider answer 503 for a pair for that long ("0s" ends it): the checker
// sees what the quotes service does when the provider fails. A fault ends
// by itself, so a check that stops half-way leaves no broken provider.
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"
)

type provider struct {
	mu      sync.RWMutex
	rates   map[string]float64
	faults  map[string]time.Time // pair → until when it answers 503
	latency time.Duration
	token   string
}

func main() {
	latency, err := time.ParseDuration(getenv("FX_LATENCY", "25ms"))
	if err != nil {
		log.Fatalf("FX_LATENCY: %v", err)
	}
	p := &provider{latency: latency, faults: map[string]time.Time{}, token: os.Getenv("FX_ADMIN_TOKEN"), rates: map[string]float64{
		"USD/USD": 1, "USD/EUR": 0.9213, "USD/GBP": 0.7871, "USD/JPY": 151.37, "USD/CHF": 0.8812,
		"USD/SEK": 10.642, "USD/CAD": 1.3694, "USD/AUD": 1.5218,
	}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.HandleFunc("GET /rates/{from}/{to}", p.rate)
	mux.HandleFunc("POST /admin/rates", p.setRates)
	mux.HandleFunc("POST /admin/faults", p.setFaults)
	addr := getenv("ADDR", ":8090")
	log.Printf("fx provider listening on %s (latency %s)", addr, latency)
	log.Fatal(http.ListenAndServe(addr, mux))
}

func (p *provider) rate(w http.ResponseWriter, r *http.Request) {
	pair := strings.ToUpper(r.PathValue("from") + "/" + r.PathValue("to"))
	select {
	case <-time.After(p.latency): // the provider is far away and busy
	case <-r.Context().Done():
		return
	}
	p.mu.RLock()
	rate, ok := p.rates[pair]
	faulty := time.Now().Before(p.faults[pair])
	p.mu.RUnlock()
	w.Header().Set("Content-Type", "application/json")
	if faulty {
		w.WriteHeader(http.StatusServiceUnavailable)
		json.NewEncoder(w).Encode(map[string]string{"error": "rates for " + pair + " are temporarily unavailable"})
		return
	}
	if !ok {
		w.WriteHeader(http.StatusNotFound)
		json.NewEncoder(w).Encode(map[string]string{"error": "unknown currency pair " + pair})
		return
	}
	from, to, _ := strings.Cut(pair, "/")
	json.NewEncoder(w).Encode(map[string]any{"from": from, "to": to, "rate": rate, "as_of": time.Now().UTC().Format(time.RFC3339Nano)})
}

func (p *provider) setRates(w http.ResponseWriter, r *http.Request) {
	if p.token == "" || r.Header.Get("X-Admin-Token") != p.token {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	var in map[string]float64
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, "body must be JSON like {\"USD/EUR\": 0.92}", http.StatusBadRequest)
		return
	}
	p.mu.Lock()
	for pair, rate := range in {
		p.rates[strings.ToUpper(pair)] = rate
	}
	p.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (p *provider) setFaults(w http.ResponseWriter, r *http.Request) {
	if p.token == "" || r.Header.Get("X-Admin-Token") != p.token {
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	var in map[string]string
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		http.Error(w, "body must be JSON like {\"USD/SEK\": \"6s\"}", http.StatusBadRequest)
		return
	}
	until := map[string]time.Time{}
	for pair, d := range in {
		dur, err := time.ParseDuration(d)
		if err != nil || dur < 0 || dur > time.Minute {
			http.Error(w, "a fault lasts from 0s to 1m", http.StatusBadRequest)
			return
		}
		until[strings.ToUpper(pair)] = time.Now().Add(dur)
	}
	p.mu.Lock()
	for pair, t := range until {
		p.faults[pair] = t
	}
	p.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func getenv(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}
