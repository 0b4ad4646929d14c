-- The accounts service's data as it stands in production when the lab
-- starts: 50,000 customers.
SELECT setseed(0.17);  -- the same data in every build
SET ROLE app;

CREATE TABLE customers (
    id         bigserial PRIMARY KEY,
    email      text NOT NULL UNIQUE,
    name       text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

INSERT INTO customers (email, name, created_at)
SELECT lower(f) || '.' || lower(l) || '.' || g || '@example.com', f || ' ' || l,
       timestamptz '2022-03-01' + g * interval '25 minutes'
FROM (
    SELECT g,
           (ARRAY['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Ken', 'Radia', 'Linus',
                  'Frances', 'John', 'Sophie', 'Tim', 'Katherine', 'Dennis', 'Hedy', 'Niklaus', 'Joan', 'Guido'])[1 + floor(random() * 20)::int] AS f,
           (ARRAY['Lovelace', 'Hopper', 'Turing', 'Dijkstra', 'Liskov', 'Knuth', 'Hamilton', 'Thompson', 'Perlman', 'Torvalds',
                  'Allen', 'Backus', 'Wilson', 'Berners-Lee', 'Johnson', 'Ritchie', 'Lamarr', 'Wirth', 'Clarke', 'van Rossum'])[1 + floor(random() * 20)::int] AS l
    FROM generate_series(1, 50000) AS g
) AS people;

RESET ROLE;
VACUUM (FREEZE, ANALYZE);
CHECKPOINT;
CHECKPOINT;
