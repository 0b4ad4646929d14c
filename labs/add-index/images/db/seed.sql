-- The shop's data as it stands when the lab starts: the tables of the app's
-- first two migrations, filled with a realistic volume of orders. The
-- migrations are recorded as applied, so the app does not run them again.
SELECT setseed(0.42);  -- the same data in every build
BEGIN;  -- with wal_level = minimal, rows loaded into tables created in the same transaction skip the WAL
SET ROLE app;

CREATE TABLE schema_migrations (
    version    text PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customers (
    id         serial PRIMARY KEY,
    name       text NOT NULL,
    email      text NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE orders (
    id          bigserial PRIMARY KEY,
    customer_id int NOT NULL REFERENCES customers (id),
    status      text NOT NULL CHECK (status IN ('pending', 'paid', 'shipped', 'delivered', 'cancelled')),
    total_cents int NOT NULL CHECK (total_cents >= 0),
    currency    text NOT NULL DEFAULT 'EUR',
    note        text,
    created_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO schema_migrations (version, applied_at) VALUES
    ('001_customers.sql', '2025-01-06 09:12:00+00'),
    ('002_orders.sql', '2025-01-06 09:12:01+00');

-- 20,000 customers.
INSERT INTO customers (name, email, created_at)
SELECT 'Customer ' || g, 'customer' || g || '@example.com',
       timestamptz '2023-01-01' + (g * interval '30 minutes')
FROM generate_series(1, 20000) AS g;

-- 1,000,000 orders over two years, in time order (as a real shop inserts
-- them), each for a random customer: about 50 orders a customer.
INSERT INTO orders (customer_id, status, total_cents, currency, note, created_at)
SELECT 1 + floor(random() * 20000)::int,
       (ARRAY['pending', 'paid', 'shipped', 'delivered', 'delivered', 'delivered', 'cancelled'])[1 + floor(random() * 7)::int],
       500 + floor(random() * 20000)::int,
       'EUR',
       CASE WHEN random() < 0.1 THEN 'gift wrap' END,
       timestamptz '2024-01-01' + g * interval '63 seconds' + floor(random() * 60) * interval '1 second'
FROM generate_series(1, 1000000) AS g;

RESET ROLE;
COMMIT;

-- The checker's record of this data, to prove that a fix kept every row:
-- for each block of ids, the number of rows and a sum of hashes of their
-- values (the row expressions are the checker's, in checker/intact.go). It
-- is kept in the postgres database, which the app's role can neither read
-- nor change.
\copy (SELECT 'orders', (SELECT max(id) FROM orders), (id - 1) / 10000, count(*), sum(hash_record_extended(ROW(id, customer_id, status, total_cents, currency, note, created_at), 0)) FROM orders GROUP BY 3 UNION ALL SELECT 'customers', (SELECT max(id) FROM customers), (id - 1) / 1000, count(*), sum(hash_record_extended(ROW(id, name, email, created_at), 0)) FROM customers GROUP BY 3) TO '/tmp/fingerprint.csv' CSV
\connect postgres
CREATE TABLE backlab_seed_fingerprint (
    tbl    text NOT NULL,
    max_id bigint NOT NULL,  -- the table's ids 1..max_id are the seed's
    chunk  bigint NOT NULL,  -- ids chunk*size+1 .. (chunk+1)*size
    n      bigint NOT NULL,
    hash   numeric NOT NULL,
    PRIMARY KEY (tbl, chunk)
);
\copy backlab_seed_fingerprint FROM '/tmp/fingerprint.csv' CSV
\connect shop
VACUUM (FREEZE, ANALYZE);
CHECKPOINT;
CHECKPOINT;  -- the second one removes the WAL files the first left over
