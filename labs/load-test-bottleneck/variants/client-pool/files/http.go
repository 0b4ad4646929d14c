package main

import (
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"regexp"
	"strings"
	"time"
)

var (
	errUnknownCurrency = errors.New("unknown currency")
	currencyPattern    = regexp.MustCompile(`^[A-Z]{3}$`)
)

// Quote is a product's price in the customer's currency.
type Quote struct {
	SKU           string  `json:"sku"`
	Name          string  `json:"name"`
	PriceCents    int64   `json:"price_cents"`
	PriceCurrency string  `json:"price_currency"`
	Currency      string  `json:"currency"`
	Rate          float64 `json:"rate"`
	AmountCents   int64   `json:"amount_cents"`
}

func routes(c *catalog, fx *fxPool) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := c.db.PingContext(r.Context()); err != nil {
			writeError(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]int64{"conversions": fx.Calls()})
	})
	mux.HandleFunc("GET /quotes/{sku}", func(w http.ResponseWriter, r *http.Request) {
		handleQuote(w, r, c, fx)
	})
	return mux
}

// handleQuote serves GET /quotes/{sku}?currency=EUR (default USD).
func handleQuote(w http.ResponseWriter, r *http.Request, c *catalog, fx *fxPool) {
	currency := strings.ToUpper(r.URL.Query().Get("currency"))
	if currency == "" {
		currency = "USD"
	}
	if !currencyPattern.MatchString(currency) {
		writeError(w, http.StatusBadRequest, "currency must be a three-letter code such as EUR")
		return
	}
	p, err := c.product(r.Context(), r.PathValue("sku"))
	if errors.Is(err, errNotFound) {
		writeError(w, http.StatusNotFound, "no such product")
		return
	}
	if err != nil {
		serverError(w, err)
		return
	}
	amount, rate, err := fx.Convert(r.Context(), p.PriceCents, p.Currency, currency)
	if errors.Is(err, errUnknownCurrency) {
		writeError(w, http.StatusBadRequest, "no exchange rate for "+currency)
		return
	}
	if err != nil {
		serverError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, Quote{
		SKU: p.SKU, Name: p.Name, PriceCents: p.PriceCents, PriceCurrency: p.Currency,
		Currency: currency, Rate: rate, AmountCents: amount,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func serverError(w http.ResponseWriter, err error) {
	log.Printf("error: %v", err)
	writeError(w, http.StatusInternalServerError, "internal error")
}

// logRequests logs each request with its duration.
func logRequests(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		log.Printf("%s %s %d %s", r.Method, r.URL.RequestURI(), rec.status, time.Since(start).Round(100*time.Microsecond))
	})
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(status int) {
	r.status = status
	r.ResponseWriter.WriteHeader(status)
}
