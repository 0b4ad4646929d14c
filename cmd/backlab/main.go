// Command backlab runs hands-on back-end labs in sandboxes.
//
// Usage:
//
//	backlab serve [--addr 127.0.0.1:8080] [LAB...]     the browser UI
//	backlab health [--addr ADDR] [--ready]             ask a running serve whether it is up
//	backlab admin create --login NAME                  create an account
//	backlab admin password|role --login NAME           reset a password, change a role
//	backlab images build [--ca-bundle FILE] [LAB...]   build the base and lab images
//	backlab lab validate LAB...                        check lab folders
//	backlab lab test LAB... [--solution DIR --expect pass|fail [--failing a,b]]
//	backlab lab new NAME [--dir labs]                  scaffold a working lab
//	backlab lab variant checkout|save LAB NAME DIR     edit a variant as files, store it as a patch
//	backlab run LAB                                    do a lab in this terminal
//	backlab reap                                       remove sandboxes left by dead processes
//	backlab bench sandbox LAB [-n N]                   measure cold sandbox-ready time
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// exitError carries an exit status without a message of its own.
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	var code exitError
	switch {
	case err == nil:
	case errors.As(err, &code):
		os.Exit(int(code))
	case errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "backlab:", err)
		os.Exit(1)
	}
}

const usage = `backlab runs hands-on back-end labs in sandboxes.

Commands:
  serve [--addr 127.0.0.1:8080] [--db FILE] [LAB...]
                                             the browser UI (default labs/)
  health [--addr ADDR] [--ready]             ask a running serve whether it is alive (or ready); exit 0 if so
  admin create --login NAME [--role admin]   create an account (password from the terminal or stdin)
  admin password --login NAME                set a new password (logs the account's browsers out)
  admin role --login NAME --role ROLE        make an account admin, instructor or learner
  images build [--ca-bundle FILE] [LAB...]   build the base image and the images of labs (default: labs/)
  lab validate LAB...                        check lab folders; prints file:line: field: problem
  lab test LAB... [--solution DIR --expect pass|fail [--failing a,b]]
                                             prove labs both ways in real sandboxes
  lab new NAME [--dir labs]                  scaffold a working lab
  lab variant checkout LAB NAME DIR [--base starter|solution] [--fresh]
                                             write a variant's files (its base with its patch) to DIR to edit
  lab variant save LAB NAME DIR [--base starter|solution]
                                             write LAB/variants/NAME/patch.diff from the edited DIR
  run LAB                                    do a lab in this terminal (Ctrl-] for the menu)
  reap                                       remove sandboxes left by processes that died
  bench sandbox LAB [-n N]                   measure cold sandbox-ready time
  bench memory LAB [-n N]                    measure the memory of idle sandboxes

A LAB is a lab folder (labs/add-index) or a folder of labs (labs/).
`

// run dispatches one command line.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: logLevel()}))
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprint(stdout, usage)
		return nil
	}
	cmd, rest := args[0], args[1:]
	sub := ""
	if len(rest) > 0 {
		sub = rest[0]
	}
	switch {
	case cmd == "serve":
		return cmdServe(ctx, rest, stdout, stderr)
	case cmd == "health":
		return cmdHealth(ctx, rest, stdout, stderr)
	case cmd == "admin" && sub == "create":
		return cmdAdminCreate(ctx, rest[1:], stdout, stderr)
	case cmd == "admin" && sub == "password":
		return cmdAdminPassword(ctx, rest[1:], stdout, stderr)
	case cmd == "admin" && sub == "role":
		return cmdAdminRole(ctx, rest[1:], stdout, stderr)
	case cmd == "images" && sub == "build":
		return cmdImagesBuild(ctx, rest[1:], stdout, stderr, logger)
	case cmd == "lab" && sub == "validate":
		return cmdLabValidate(rest[1:], stdout, stderr)
	case cmd == "lab" && sub == "test":
		return cmdLabTest(ctx, rest[1:], stdout, stderr, logger)
	case cmd == "lab" && sub == "new":
		return cmdLabNew(rest[1:], stdout, stderr)
	case cmd == "lab" && sub == "variant" && len(rest) > 1 && rest[1] == "checkout":
		return cmdLabVariantCheckout(rest[2:], stdout, stderr)
	case cmd == "lab" && sub == "variant" && len(rest) > 1 && rest[1] == "save":
		return cmdLabVariantSave(rest[2:], stdout, stderr)
	case cmd == "run":
		return cmdRun(ctx, rest, stdout, stderr, logger)
	case cmd == "reap":
		return cmdReap(ctx, rest, stdout, stderr, logger)
	case cmd == "bench" && sub == "memory":
		return cmdBenchMemory(ctx, rest[1:], stdout, stderr, logger)
	case cmd == "bench" && sub == "sandbox":
		return cmdBenchSandbox(ctx, rest[1:], stdout, stderr, logger)
	}
	fmt.Fprint(stderr, usage)
	return fmt.Errorf("unknown command %q", strings.Join(args[:min(2, len(args))], " "))
}

func logLevel() slog.Level {
	if os.Getenv("BACKLAB_DEBUG") != "" {
		return slog.LevelDebug
	}
	return slog.LevelWarn
}

// parseInterleaved parses flags that may come before or after positional
// arguments and returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
}
