package tmpdeps

import (
	_ "github.com/gorilla/websocket"
	_ "github.com/jackc/pgx/v5/stdlib"
	_ "github.com/jmoiron/sqlx"
	_ "github.com/moby/moby/client"
	_ "github.com/testcontainers/testcontainers-go"
	_ "go.yaml.in/yaml/v3"
	_ "github.com/invopop/jsonschema"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "golang.org/x/term"
)
