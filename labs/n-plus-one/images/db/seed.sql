-- The shop's data as it stands when the lab starts: customers, the product
-- catalogue, and a year and a half of orders with their line items.
SELECT setseed(0.42);  -- the same data in every build
BEGIN;  -- with wal_level = minimal, rows loaded into tables created in the same transaction skip the WAL
SET ROLE app;

CREATE TABLE customers (
    id         serial PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE products (
    id          serial PRIMARY KEY,
    sku         text NOT NULL UNIQUE,
    name        text NOT NULL,
    price_cents int NOT NULL CHECK (price_cents >= 0)  -- today's price
);

CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    status      text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
    id               bigserial PRIMARY KEY,
    order_id         bigint NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id       int NOT NULL REFERENCES products (id),
    quantity         int NOT NULL CHECK (quantity > 0),
    unit_price_cents int NOT NULL CHECK (unit_price_cents >= 0)  -- the price paid
);

-- 20,000 customers.
INSERT INTO customers (name, email, created_at)
SELECT f.name || ' ' || l.name,
       lower(f.name) || '.' || lower(l.name) || g || '@example.com',
       timestamptz '2023-01-01' + (g * interval '30 minutes')
FROM generate_series(1, 20000) AS g
CROSS JOIN LATERAL (SELECT (ARRAY['Ada', 'Ben', 'Chloe', 'Dev', 'Elif', 'Femi', 'Grace', 'Hugo', 'Ines', 'Jonas',
        'Kenji', 'Lena', 'Marta', 'Nico', 'Olga', 'Priya', 'Quinn', 'Rosa', 'Sami', 'Tomas'])[1 + (g * 7) % 20] AS name) f
CROSS JOIN LATERAL (SELECT (ARRAY['Adams', 'Berg', 'Costa', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Haddad', 'Ivanova',
        'Jensen', 'Kowalski', 'Larsen', 'Moreau', 'Novak', 'Okafor', 'Petrov', 'Rossi', 'Silva', 'Tanaka', 'Weber'])[1 + (g * 13 / 20) % 20] AS name) l;

-- 1,000 products.
INSERT INTO products (sku, name, price_cents)
SELECT 'SKU-' || lpad(g::text, 5, '0'),
       (ARRAY['Classic', 'Organic', 'Compact', 'Deluxe', 'Travel', 'Bamboo', 'Ceramic', 'Wool', 'Steel', 'Linen'])[1 + g % 10] || ' ' ||
       (ARRAY['mug', 'teapot', 'notebook', 'backpack', 'lamp', 'scarf', 'bottle', 'cutting board', 'candle', 'blanket',
              'pen set', 'plant pot', 'towel', 'apron', 'coaster set'])[1 + (g / 10) % 15] || ' ' || (1 + g / 150),
       299 + floor(random() * 9700)::int
FROM generate_series(1, 1000) AS g;

-- 150,000 orders over eighteen months, in time order (as a real shop
-- inserts them), each for a random customer.
INSERT INTO orders (customer_id, status, created_at)
SELECT 1 + floor(random() * 20000)::int,
       (ARRAY['pending', 'paid', 'shipped', 'delivered', 'delivered', 'delivered', 'delivered', 'cancelled'])[1 + floor(random() * 8)::int],
       timestamptz '2024-01-01' + g * interval '5 minutes' + floor(random() * 240) * interval '1 second'
FROM generate_series(1, 150000) AS g;

-- One to four line items an order (a cancelled order may have had its
-- items removed), at the price of the day: up to 20% below today's.
WITH lines AS MATERIALIZED (
    SELECT o.id AS order_id, n, 1 + floor(random() * 1000)::int AS product_id,
           random() AS r1, random() AS r2, random() AS r3
    FROM orders o
    CROSS JOIN LATERAL generate_series(1, CASE WHEN o.status = 'cancelled' THEN floor(random() * 3)::int
                                               ELSE 1 + floor(random() * 4)::int END) AS n
)
INSERT INTO order_items (order_id, product_id, quantity, unit_price_cents)
SELECT l.order_id, l.product_id, 1 + floor(l.r1 * l.r2 * 4)::int,
       (p.price_cents * (0.8 + floor(l.r3 * 5) * 0.05))::int
FROM lines l
JOIN products p ON p.id = l.product_id
ORDER BY l.order_id, l.n;

CREATE INDEX orders_created_at_id_idx ON orders (created_at, id);
CREATE INDEX orders_customer_id_idx ON orders (customer_id);
CREATE INDEX order_items_order_id_idx ON order_items (order_id);

RESET ROLE;
COMMIT;
VACUUM (FREEZE, ANALYZE);
SELECT pg_stat_statements_reset();
CHECKPOINT;
CHECKPOINT;  -- the second one removes the WAL files the first left over
