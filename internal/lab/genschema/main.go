// Command genschema writes the JSON Schema of lab.yaml (see lab.Schema).
// Run it with `go generate ./internal/lab`.
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/backlab/backlab/internal/lab"
)

func main() {
	out := flag.String("o", "", "file to write (default: standard output)")
	flag.Parse()
	data, err := lab.Schema()
	if err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
	if *out == "" {
		_, err = os.Stdout.Write(data)
	} else {
		err = os.WriteFile(*out, data, 0o644)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "genschema:", err)
		os.Exit(1)
	}
}
