package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"github.com/dozor-edge/dozor/region/cgodeps"
	"github.com/dozor-edge/dozor/region/config"
	"github.com/dozor-edge/dozor/region/dashboard"
)

// userCmd is `regiond user add`: an account of the dashboard, its
// password read from standard input so that it appears in no process
// list or shell history.
func userCmd(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	usage := "usage: regiond user add -config FILE -name NAME -role operator|supervisor|admin|auditor [-lang ru|en] -password-stdin"
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	fs := flag.NewFlagSet("regiond user add", flag.ContinueOnError)
	fs.SetOutput(stderr)
	cfgPath := fs.String("config", "", "configuration file; the account goes into its store")
	name := fs.String("name", "", "the account's name")
	role := fs.String("role", "", "operator, supervisor, admin or auditor")
	lang := fs.String("lang", "ru", "the pages' language: ru or en")
	fromStdin := fs.Bool("password-stdin", false, "read the password from the first line of standard input (required)")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args[1:]); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 || *cfgPath == "" || *name == "" || *role == "" || !*fromStdin {
		fs.Usage()
		return 2
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		fmt.Fprintf(stderr, "regiond: reading the password: %v\n", err)
		return 1
	}
	password := strings.TrimRight(line, "\r\n")
	cfg, err := config.Load(*cfgPath, os.LookupEnv)
	if err != nil {
		fmt.Fprintf(stderr, "regiond: invalid configuration: %v\n", err)
		return 1
	}
	st, err := cgodeps.OpenStore(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		fmt.Fprintf(stderr, "regiond: store: %v\n", err)
		return 1
	}
	defer st.Close()
	if err := dashboard.AddUser(context.Background(), st, *name, *role, *lang, password); err != nil {
		fmt.Fprintf(stderr, "regiond: user %s: %v\n", *name, err)
		return 1
	}
	fmt.Fprintf(stdout, "user %s (%s) saved\n", *name, *role)
	return 0
}
