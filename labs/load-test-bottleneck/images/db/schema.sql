-- The store's catalog: 2,000 products priced in US dollars. "app" owns the
-- table; the checker connects as postgres and adds products of its own.
ALTER USER postgres PASSWORD 'checker-only-5b1e';
CREATE ROLE app LOGIN PASSWORD 'app';
CREATE DATABASE store OWNER postgres;
\connect store
ALTER SCHEMA public OWNER TO app;
SELECT setseed(0.17);  -- the same data in every build
SET ROLE app;

CREATE TABLE products (
    sku         text PRIMARY KEY,
    name        text NOT NULL,
    price_cents bigint NOT NULL CHECK (price_cents >= 0),
    currency    text NOT NULL DEFAULT 'USD',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

INSERT INTO products (sku, name, price_cents)
SELECT format('SKU-%s', lpad(i::text, 5, '0')),
       (ARRAY['Trail', 'City', 'Rain', 'Summit', 'Harbor', 'Canyon', 'Nordic', 'Metro'])[1 + floor(random() * 8)::int]
         || ' ' ||
       (ARRAY['backpack', 'jacket', 'tent', 'boots', 'lamp', 'bottle', 'scarf', 'gloves', 'stove', 'map case'])[1 + floor(random() * 10)::int],
       500 + floor(random() * 45000)::bigint
FROM generate_series(1, 2000) AS i;
ANALYZE products;
