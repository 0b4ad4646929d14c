-- The shop's catalogue as it stands when the lab starts: products and their
-- reviews, popular products having thousands of them.
SELECT setseed(0.42);  -- the same data in every build
BEGIN;  -- with wal_level = minimal, rows loaded into tables created in the same transaction skip the WAL
SET ROLE app;

CREATE TABLE products (
    id          bigserial PRIMARY KEY,
    sku         text NOT NULL UNIQUE,
    name        text NOT NULL,
    price_cents int NOT NULL CHECK (price_cents >= 0),
    currency    text NOT NULL DEFAULT 'EUR',
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE reviews (
    id         bigserial PRIMARY KEY,
    product_id bigint NOT NULL REFERENCES products (id),
    rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    body       text,
    created_at timestamptz NOT NULL DEFAULT now()
);

-- 5,000 products.
INSERT INTO products (sku, name, price_cents, updated_at)
SELECT 'SKU-' || lpad(g::text, 6, '0'),
       (ARRAY['Walnut', 'Linen', 'Copper', 'Ceramic', 'Oak', 'Wool', 'Glass', 'Cotton'])[1 + g % 8] || ' ' ||
       (ARRAY['desk lamp', 'throw', 'kettle', 'mug', 'shelf', 'rug', 'vase', 'cushion', 'clock', 'tray'])[1 + (g / 8) % 10] ||
       ' no. ' || g,
       (500 + floor(random() * 20000))::int,
       timestamptz '2025-01-01' + random() * interval '300 days'
FROM generate_series(1, 5000) AS g;

-- 300,000 reviews, skewed: the first products are the best sellers.
INSERT INTO reviews (product_id, rating, body, created_at)
SELECT 1 + floor(power(random(), 3) * 5000)::int,
       (ARRAY[1, 2, 3, 4, 4, 5, 5, 5])[1 + floor(random() * 8)::int],
       (ARRAY['Great value.', 'As described.', 'Arrived late.', 'Would buy again.', 'Smaller than expected.'])[1 + floor(random() * 5)::int],
       timestamptz '2023-01-01' + random() * interval '900 days'
FROM generate_series(1, 300000);
CREATE INDEX reviews_product_id_idx ON reviews (product_id);
COMMIT;

RESET ROLE;
ANALYZE;
SELECT pg_stat_statements_reset();
