package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/webauth"
)

const userUsage = `usage: edgectl user add --name NAME --role ROLE [--lang ru|en] [--password-stdin] [flags]
       edgectl user list [--json] [flags]
       edgectl user passwd --name NAME [--password-stdin] [flags]
       edgectl user disable|enable|delete --name NAME [flags]

Manages the guard-post monitor's accounts in the facility store; --config
names the daemon's configuration, whose store, key and site are used.
There is no default password: it is typed twice at the terminal, or read
as one line from stdin with --password-stdin. Every change is audited as
"edgectl:<--actor>".`

// runUser is the user command.
func runUser(ctx context.Context, args []string) error {
	return userCmd{in: os.Stdin, out: os.Stdout, errOut: os.Stderr}.run(ctx, args)
}

// userCmd runs the user sub-commands with the given standard streams.
type userCmd struct {
	in          io.Reader
	out, errOut io.Writer
}

func (c userCmd) run(ctx context.Context, args []string) error {
	if len(args) == 0 {
		return errors.New("a sub-command is required\n" + userUsage)
	}
	switch args[0] {
	case "list":
		return c.list(ctx, args[1:])
	case "add", "passwd", "disable", "enable", "delete":
		return c.change(ctx, args[0], args[1:])
	case "help", "-h", "--help":
		fmt.Fprintln(c.errOut, userUsage)
		return flag.ErrHelp
	}
	return fmt.Errorf("unknown sub-command %q\n%s", args[0], userUsage)
}

func (c userCmd) list(ctx context.Context, args []string) error {
	fs := newFlags("user list", userUsage)
	fs.SetOutput(c.errOut)
	sf := storeFlags{existing: true}
	sf.add(fs, false)
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	st, err := sf.open(c.errOut)
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.Users(ctx)
	if err != nil {
		return err
	}
	type row struct {
		Name      string     `json:"name"`
		Role      store.Role `json:"role"`
		Lang      string     `json:"lang"`
		Disabled  bool       `json:"disabled"`
		CreatedAt time.Time  `json:"created_at"`
		UpdatedAt time.Time  `json:"updated_at"`
	}
	rows := make([]row, 0, len(users))
	for _, u := range users {
		rows = append(rows, row{u.Name, u.Role, u.Lang, u.Disabled, u.CreatedAt.UTC(), u.UpdatedAt.UTC()})
	}
	if *asJSON {
		return writeJSON(c.out, map[string]any{"users": rows})
	}
	tw := tabwriter.NewWriter(c.out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tLANG\tDISABLED\tCREATED")
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\n", r.Name, r.Role, r.Lang, r.Disabled, r.CreatedAt.Format(time.RFC3339))
	}
	return tw.Flush()
}

// change runs the sub-commands that write one account.
func (c userCmd) change(ctx context.Context, sub string, args []string) error {
	fs := newFlags("user "+sub, userUsage)
	fs.SetOutput(c.errOut)
	sf := storeFlags{existing: sub != "add"}
	sf.add(fs, true)
	name := fs.String("name", "", "the account's name (required)")
	var role, lang *string
	var fromStdin *bool
	if sub == "add" {
		fs.BoolVar(&sf.initKey, "init-key", false, "start a new store: create the key file and the database when they do not exist")
		role = fs.String("role", "", "the account's role: "+rolesList()+" (required)")
		lang = fs.String("lang", store.LangRussian, "the language of the account's pages: ru or en")
	}
	if sub == "add" || sub == "passwd" {
		fromStdin = fs.Bool("password-stdin", false, "read the password as one line from stdin instead of the terminal")
	}
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if err := webauth.CheckName(*name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	if sub == "add" {
		if !store.Role(*role).Valid() {
			return fmt.Errorf("--role %q: want one of %s", *role, rolesList())
		}
		if *lang != store.LangRussian && *lang != store.LangEnglish {
			return fmt.Errorf("--lang %q: want ru or en", *lang)
		}
	}
	if err := sf.checkActor(); err != nil {
		return err
	}
	actor := "edgectl:" + sf.actor

	st, err := sf.open(c.errOut)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.User(ctx, *name)
	switch {
	case sub == "add" && err == nil:
		return fmt.Errorf("user %s already exists (change it with passwd, enable, disable or delete)", *name)
	case sub == "add" && errors.Is(err, store.ErrNotFound):
		u = store.User{Name: *name, Role: store.Role(*role), Lang: *lang}
	case errors.Is(err, store.ErrNotFound):
		return fmt.Errorf("no user %s", *name)
	case err != nil:
		return err
	}

	switch sub {
	case "delete":
		if err := st.DeleteUser(ctx, actor, *name); err != nil {
			return err
		}
		fmt.Fprintf(c.out, "deleted user %s\n", *name)
		return nil
	case "disable", "enable":
		if u.Disabled == (sub == "disable") {
			fmt.Fprintf(c.out, "user %s is already %sd\n", *name, sub)
			return nil
		}
		u.Disabled = sub == "disable"
	case "add", "passwd":
		pw, err := c.readPassword(*fromStdin)
		if err != nil {
			return err
		}
		if u.PasswordHash, err = webauth.HashPassword(pw); err != nil {
			return err
		}
	}
	if err := st.PutUser(ctx, actor, u); err != nil {
		return err
	}
	switch sub {
	case "add":
		fmt.Fprintf(c.out, "added user %s (role %s, language %s)\n", u.Name, u.Role, u.Lang)
	case "passwd":
		fmt.Fprintf(c.out, "changed the password of %s; its monitor sessions end at their next request\n", u.Name)
	default:
		fmt.Fprintf(c.out, "%sd user %s\n", sub, u.Name)
	}
	return nil
}

func rolesList() string {
	names := make([]string, len(store.Roles))
	for i, r := range store.Roles {
		names[i] = string(r)
	}
	return strings.Join(names, ", ")
}

// readPassword reads a new password: one line from stdin with
// fromStdin, else typed twice at the terminal without echo. It applies
// webauth.PasswordPolicy.
func (c userCmd) readPassword(fromStdin bool) (string, error) {
	if fromStdin {
		// Far more than a valid password, so that one too long is
		// reported as such rather than cut.
		line, err := bufio.NewReader(io.LimitReader(c.in, 4<<10)).ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return "", fmt.Errorf("--password-stdin: %w", err)
		}
		pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		if pw == "" {
			return "", errors.New("--password-stdin: stdin holds no password")
		}
		return pw, webauth.PasswordPolicy(pw)
	}
	f, ok := c.in.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return "", errors.New("stdin is not a terminal: pass --password-stdin to read the password from it")
	}
	ask := func(prompt string) (string, error) {
		fmt.Fprint(c.errOut, prompt)
		b, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(c.errOut)
		return string(b), err
	}
	pw, err := ask("new password: ")
	if err != nil {
		return "", err
	}
	if err := webauth.PasswordPolicy(pw); err != nil {
		return "", err
	}
	again, err := ask("the same again: ")
	if err != nil {
		return "", err
	}
	if again != pw {
		return "", errors.New("the two passwords differ; nothing was changed")
	}
	return pw, nil
}
