package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/dozor-edge/dozor/edge/custody"
	"github.com/dozor-edge/dozor/edge/store"
)

const rulesUsage = `usage: edgectl rules <list|put|delete> --config FILE [flags]

  list                 print the site's alert rules
  put --id ID --kind K [--name N] [--severity S] [--params JSON] [--cooldown D] [--disabled]
                       create or replace a rule (kinds: %s)
  delete --id ID       delete a rule

Every change is audited under --actor; a running daemon picks it up within seconds.`

// runRules lists and edits the site's alert rules, as the monitor's rules
// page does, for a box set up from a script.
func runRules(ctx context.Context, args []string) error {
	kinds := make([]string, 0, len(custody.Kinds()))
	for _, k := range custody.Kinds() {
		kinds = append(kinds, string(k))
	}
	usage := fmt.Sprintf(rulesUsage, strings.Join(kinds, ", "))
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		fmt.Println(usage)
		return nil
	}
	fs := newFlags("rules "+args[0], usage)
	sf := storeFlags{existing: true}
	sf.add(fs, args[0] != "list")
	var id, kind, name, severity, params string
	var cooldown time.Duration
	var disabled bool
	asJSON := false
	switch args[0] {
	case "list":
		fs.BoolVar(&sf.noKey, "no-key", false, "open the store read-only without its key (rules are not biometric)")
		fs.BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	case "put":
		fs.StringVar(&id, "id", "", "rule id (required)")
		fs.StringVar(&kind, "kind", "", "rule kind (required)")
		fs.StringVar(&name, "name", "", "display name (default: the id)")
		fs.StringVar(&severity, "severity", string(custody.Warning), "info, warning or critical")
		fs.StringVar(&params, "params", "{}", `the kind's parameters as a JSON object, e.g. {"watch_list":"escape-risk"}`)
		fs.DurationVar(&cooldown, "cooldown", 5*time.Minute, "quiet time after an alert of this rule for the same person and camera")
		fs.BoolVar(&disabled, "disabled", false, "store the rule switched off")
	case "delete":
		fs.StringVar(&id, "id", "", "rule id (required)")
	default:
		return fmt.Errorf("unknown sub-command %q\n%s", args[0], usage)
	}
	if err := parseNoArgs(fs, args[1:]); err != nil {
		return err
	}
	if args[0] != "list" {
		if err := sf.checkActor(); err != nil {
			return err
		}
		if id == "" {
			return fmt.Errorf("--id is required")
		}
	}
	st, err := sf.open(os.Stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	switch args[0] {
	case "put":
		if kind == "" {
			return fmt.Errorf("--kind is required (one of %s)", strings.Join(kinds, ", "))
		}
		if name == "" {
			name = id
		}
		r := store.Rule{ID: id, Kind: custody.Kind(kind), Name: name, Params: json.RawMessage(params),
			Severity: custody.Severity(severity), Cooldown: cooldown, Enabled: !disabled}
		if err := st.PutRule(ctx, sf.actor, r); err != nil {
			return err
		}
		fmt.Printf("rule %s stored\n", id)
		return nil
	case "delete":
		if err := st.DeleteRule(ctx, sf.actor, id); err != nil {
			return err
		}
		fmt.Printf("rule %s deleted\n", id)
		return nil
	}
	rules, err := st.Rules(ctx)
	if err != nil {
		return err
	}
	if asJSON {
		return writeJSON(os.Stdout, rules)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tKIND\tNAME\tSEVERITY\tCOOLDOWN\tENABLED\tPARAMS")
	for _, r := range rules {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%v\t%v\t%s\n", r.ID, r.Kind, r.Name, r.Severity, r.Cooldown, r.Enabled, r.Params)
	}
	return tw.Flush()
}
