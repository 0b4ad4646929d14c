package main

import (
	"database/sql"
	"encoding/json"
	"errors"
	"log"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Customer is one customer as the API shows it. The JSON stays the same
// whatever the database's columns are called: the shop's other services
// read it.
type Customer struct {
	ID        int64     `json:"id"`
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	CreatedAt time.Time `json:"created_at"`
}

// store holds the SQL of the service.
//
// Phase 1 (expand): writes both columns, reads name.
type store struct {
	db *sql.DB
}

func routes(s *store) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		if err := s.db.PingContext(r.Context()); err != nil {
			writeError(w, http.StatusServiceUnavailable, "database unavailable")
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /customers", s.createCustomer)
	mux.HandleFunc("GET /customers/{id}", s.getCustomer)
	mux.HandleFunc("PATCH /customers/{id}", s.renameCustomer)
	return mux
}

// createCustomer serves POST /customers {"email": "…", "name": "…"}.
func (s *store) createCustomer(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Email string `json:"email"`
		Name  string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || !strings.Contains(in.Email, "@") || in.Name == "" {
		writeError(w, http.StatusBadRequest, `body must be JSON like {"email": "ada@example.com", "name": "Ada Lovelace"}`)
		return
	}
	c := Customer{Email: in.Email, Name: in.Name}
	err := s.db.QueryRowContext(r.Context(), `
		INSERT INTO customers (email, name, full_name) VALUES ($1, $2, $2)
		RETURNING id, created_at`, c.Email, c.Name).Scan(&c.ID, &c.CreatedAt)
	if err != nil {
		serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

// getCustomer serves GET /customers/{id}.
func (s *store) getCustomer(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "customer id must be a positive integer")
		return
	}
	var c Customer
	err = s.db.QueryRowContext(r.Context(), `
		SELECT id, email, name, created_at FROM customers WHERE id = $1`, id).
		Scan(&c.ID, &c.Email, &c.Name, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		writeError(w, http.StatusNotFound, "no such customer")
		return
	}
	if err != nil {
		serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// renameCustomer serves PATCH /customers/{id} {"name": "…"}.
func (s *store) renameCustomer(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id <= 0 {
		writeError(w, http.StatusBadRequest, "customer id must be a positive integer")
		return
	}
	var in struct {
		Name string `json:"name"`
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil || in.Name == "" {
		writeError(w, http.StatusBadRequest, `body must be JSON like {"name": "Ada King"}`)
		return
	}
	var c Customer
	err = s.db.QueryRowContext(r.Context(), `
		UPDATE customers SET name = $2, full_name = $2 WHERE id = $1
		RETURNING id, email, name, created_at`, id, in.Name).
		Scan(&c.ID, &c.Email, &c.Name, &c.CreatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		writeError(w, http.StatusNotFound, "no such customer")
		return
	}
	if err != nil {
		serverError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// serverError logs the cause (the deploy tool shows the log) and answers
// 500 without exposing it.
func serverError(w http.ResponseWriter, r *http.Request, err error) {
	log.Printf("error: %s: %v", r.Pattern, err)
	writeError(w, http.StatusInternalServerError, "internal error")
}
