package main

import (
	"context"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/store"
)

const auditUsage = "usage: edgectl audit verify --config FILE\n" +
	"       edgectl audit list --config FILE [--actor NAME] [--action A|FAMILY.] [--object O|KIND:] [--from T] [--to T] [--limit N]"

// runAudit checks or lists the store's audit log. It opens the store
// without its key, read-only: the audit log is not biometric data, and an
// auditor need not hold the key.
func runAudit(ctx context.Context, args []string) error {
	return auditCommand(ctx, args, os.Stdout)
}

func auditCommand(ctx context.Context, args []string, w io.Writer) error {
	if len(args) == 0 {
		return errors.New("a sub-command is required\n" + auditUsage)
	}
	switch args[0] {
	case "verify":
		return runAuditVerify(ctx, args[1:], w)
	case "list":
		return runAuditList(ctx, args[1:], w)
	case "help", "-h", "--help":
		fmt.Fprintln(w, auditUsage)
		return nil
	}
	return fmt.Errorf("unknown sub-command %q\n%s", args[0], auditUsage)
}

// auditStoreFlags are the flags that find the store: the daemon's
// configuration, or the database path itself. No key is needed.
func auditStoreFlags(fs *flag.FlagSet) *storeFlags {
	sf := &storeFlags{existing: true, noKey: true, fs: fs}
	fs.StringVar(&sf.config, "config", "", "the daemon's configuration file: the store is its store.path")
	fs.StringVar(&sf.path, "store", config.Defaults().Store.Path, "facility database (the daemon's store.path)")
	return sf
}

func runAuditVerify(ctx context.Context, args []string, w io.Writer) error {
	fs := newFlags("audit verify", "usage: edgectl audit verify --config FILE\n"+
		"Checks every link of the audit log's hash chain; exits 1 naming the first entry that was edited or removed.")
	sf := auditStoreFlags(fs)
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	st, err := sf.open(os.Stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	head, err := st.VerifyAudit(ctx)
	if err != nil {
		return fmt.Errorf("audit log of %s: %w", st.Path(), err)
	}
	fmt.Fprintf(w, "audit log: %d entries, chain intact, head %s\n", head.Seq, hex.EncodeToString(head.Hash[:]))
	return nil
}

// oneLine keeps a free-text detail on its row of the table.
func oneLine(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
}

// parseWhen reads a time bound: RFC 3339, or a date (midnight UTC).
func parseWhen(flagName, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("--%s %q: want a time such as 2026-03-01T08:00:00Z or a date such as 2026-03-01", flagName, v)
}

func runAuditList(ctx context.Context, args []string, w io.Writer) error {
	fs := newFlags("audit list", "usage: edgectl audit list --config FILE [flags]\nLists audit entries, oldest first.")
	sf := auditStoreFlags(fs)
	var q store.AuditQuery
	var from, to string
	fs.StringVar(&q.Actor, "actor", "", "only entries of this actor (a user name, or "+store.SystemActor+")")
	fs.StringVar(&q.Action, "action", "", "only this action (alert.decide), or a family ending in '.' (alert.)")
	fs.StringVar(&q.Object, "object", "", "only this object (person:P-1), or a kind ending in ':' (person:)")
	fs.StringVar(&from, "from", "", "only entries at or after this time (RFC 3339 or a date, UTC)")
	fs.StringVar(&to, "to", "", "only entries before this time (RFC 3339 or a date, UTC)")
	fs.Uint64Var(&q.AfterSeq, "after", 0, "only entries after this sequence number")
	fs.IntVar(&q.Limit, "limit", store.DefaultLimit, fmt.Sprintf("at most this many entries (1..%d)", store.MaxBatch))
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	var err error
	if q.From, err = parseWhen("from", from); err != nil {
		return err
	}
	if q.To, err = parseWhen("to", to); err != nil {
		return err
	}
	if q.Limit <= 0 {
		return fmt.Errorf("--limit %d: want 1..%d", q.Limit, store.MaxBatch)
	}
	st, err := sf.open(os.Stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	entries, err := st.QueryAudit(ctx, q)
	if err != nil {
		return err
	}
	if *asJSON {
		type entry struct {
			Seq    uint64    `json:"seq"`
			At     time.Time `json:"at"`
			Actor  string    `json:"actor"`
			Action string    `json:"action"`
			Object string    `json:"object"`
			Detail string    `json:"detail"`
			Prev   string    `json:"prev"`
			Hash   string    `json:"hash"`
		}
		out := make([]entry, len(entries))
		for i, e := range entries {
			out[i] = entry{e.Seq, e.At, e.Actor, e.Action, e.Object, e.Detail,
				hex.EncodeToString(e.PrevHash[:]), hex.EncodeToString(e.Hash[:])}
		}
		return writeJSON(w, out)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "SEQ\tAT (UTC)\tACTOR\tACTION\tOBJECT\tDETAIL")
	for _, e := range entries {
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", e.Seq, e.At.UTC().Format("2006-01-02 15:04:05.000"),
			e.Actor, e.Action, e.Object, oneLine(e.Detail))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%d entries\n", len(entries))
	return nil
}
