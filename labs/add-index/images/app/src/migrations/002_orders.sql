CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    status      text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    total_cents int NOT NULL CHECK (total_cents >= 0),
    currency    text NOT NULL DEFAULT 'EUR',
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now()
);
