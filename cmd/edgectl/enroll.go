package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"unicode"

	"github.com/dozor-edge/dozor/edge/config"
	"github.com/dozor-edge/dozor/edge/enroll"
	"github.com/dozor-edge/dozor/edge/store"
	"github.com/dozor-edge/dozor/internal/engines"
	"github.com/dozor-edge/dozor/internal/sqlite"
	"github.com/dozor-edge/dozor/recognizer"
	"github.com/dozor-edge/dozor/recognizer/opencv"
)

// storeFlags are the flags of the commands that open the facility store.
// The defaults are the daemon's, so on a box set up with the defaults the
// commands need none of them.
type storeFlags struct {
	config           string
	path, key, actor string
	region, site     string
	initKey, noKey   bool
	// existing is set by the commands that never start a store: a path
	// with nothing there is reported as such.
	existing bool
	fs       *flag.FlagSet
}

func (f *storeFlags) add(fs *flag.FlagSet, audited bool) {
	d := config.Defaults()
	f.fs = fs
	fs.StringVar(&f.config, "config", "", "the daemon's configuration file: --store, --key, --region and --site default to its values")
	fs.StringVar(&f.path, "store", d.Store.Path, "facility database (the daemon's store.path)")
	fs.StringVar(&f.key, "key", d.Store.KeyFile, "key file of the database (the daemon's store.key_file)")
	fs.StringVar(&f.region, "region", d.Site.Region, "the daemon's site.region: the store sends its audit records to the region under it")
	fs.StringVar(&f.site, "site", d.Site.ID, "the daemon's site.id: the site the store's audit records come from")
	if audited {
		fs.StringVar(&f.actor, "actor", osUser(), "name recorded in the audit log for what this command does (default: the OS user)")
	}
}

func osUser() string {
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return os.Getenv("USER")
}

func (f *storeFlags) checkActor() error {
	switch {
	case f.actor == "":
		return errors.New("--actor is required: the OS user name is unknown, and every change is audited under a name")
	case strings.ContainsFunc(f.actor, func(r rune) bool { return unicode.IsSpace(r) || !unicode.IsPrint(r) }):
		return fmt.Errorf("--actor %q: a name without spaces is required (it is an id in the audit log)", f.actor)
	}
	return nil
}

// open opens the store. A missing key file is an error unless --init-key
// asks for a new store: a key made silently could not read the data
// sealed under the real one, and a database made silently at a mistyped
// path would collect enrolments nobody finds.
func (f *storeFlags) open(stderr io.Writer) (*store.Store, error) {
	if err := f.fromConfig(); err != nil {
		return nil, err
	}
	if f.existing {
		if _, err := os.Stat(f.path); err != nil {
			return nil, fmt.Errorf("store %s: %w", f.path, err)
		}
	}
	if f.noKey {
		return store.Open(f.path, store.Options{SQLite: sqlite.Binding{}, NoKey: true})
	}
	_, dbErr := os.Stat(f.path)
	dbExists := dbErr == nil
	if dbErr != nil && !errors.Is(dbErr, fs.ErrNotExist) {
		return nil, dbErr
	}
	_, keyErr := os.Stat(f.key)
	switch {
	case keyErr == nil:
	case !errors.Is(keyErr, fs.ErrNotExist):
		return nil, keyErr
	case !f.initKey:
		if dbExists {
			return nil, fmt.Errorf("key file %s does not exist; give the key of %s with --key (a new key cannot read its data)", f.key, f.path)
		}
		return nil, fmt.Errorf("key file %s does not exist; to start a new store, pass --init-key", f.key)
	case dbExists:
		return nil, fmt.Errorf("key file %s does not exist, but %s does: --init-key only starts a new store, "+
			"since a new key cannot read data sealed under another; give the store's key with --key", f.key, f.path)
	default:
		if err := os.MkdirAll(filepath.Dir(f.key), 0o700); err != nil {
			return nil, err
		}
		k, err := store.GenerateKeyFile(f.key)
		if err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr, "created key file %s (key %s): keep a copy apart from the database and its backups; "+
			"without the key the biometric data cannot be read\n", f.key, k.Fingerprint())
	}
	if !dbExists {
		if !f.initKey {
			return nil, fmt.Errorf("store %s does not exist; to start a new store there, pass --init-key", f.path)
		}
		if err := os.MkdirAll(filepath.Dir(f.path), 0o750); err != nil {
			return nil, err
		}
	}
	st, err := store.Open(f.path, store.Options{SQLite: sqlite.Binding{}, KeyFile: f.key, Region: f.region, Site: f.site})
	if err != nil {
		return nil, err
	}
	if !dbExists {
		fmt.Fprintf(stderr, "created store %s\n", st.Path())
	}
	return st, nil
}

// openWithEngine opens the store, then builds the still-photo engine
// named: a wrong path or key is reported before the models load. closeAll
// closes both.
func (f *storeFlags) openWithEngine(modelFlag, engineName string) (st *store.Store, eng recognizer.Engine, closeAll func(), err error) {
	if st, err = f.open(os.Stderr); err != nil {
		return nil, nil, nil, err
	}
	if eng, err = stillEngine(modelFlag, engineName); err != nil {
		st.Close()
		return nil, nil, nil, err
	}
	return st, eng, func() { eng.Close(); st.Close() }, nil
}

// fromConfig takes the store, key, region and site from the daemon's
// configuration file, when --config names one, for the flags not given:
// audit records must leave under the site the daemon runs as.
func (f *storeFlags) fromConfig() error {
	if f.config == "" {
		return nil
	}
	cfg, err := config.Load(f.config, os.LookupEnv)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	for name, v := range map[string]struct {
		dst *string
		val string
	}{
		"store": {&f.path, cfg.Store.Path}, "key": {&f.key, cfg.Store.KeyFile},
		"region": {&f.region, cfg.Site.Region}, "site": {&f.site, cfg.Site.ID},
	} {
		if !given[name] {
			*v.dst = v.val
		}
	}
	return nil
}

// stillEngine builds an engine with the detector set for still photos:
// a second, upscaled pass when the first finds no face costs little next
// to a booking photo refused for want of a face.
func stillEngine(modelFlag, name string) (recognizer.Engine, error) {
	dir, err := modelDir(modelFlag)
	if err != nil {
		return nil, err
	}
	det := opencv.DefaultDetectorConfig
	det.RetryUpscale = true
	return engines.New(dir, name, det)
}

func decodeStill(b []byte) (*recognizer.Image, error) {
	return opencv.DecodeImage(b, engines.StillMaxSide)
}

type enrollReport struct {
	Model     recognizer.ModelID    `json:"model"`
	Threshold float32               `json:"threshold"`
	Counts    map[enroll.Status]int `json:"counts"`
	// Unchecked profiles have no template of Model, so photos were not
	// compared with them.
	Unchecked int             `json:"unchecked_profiles"`
	Results   []enroll.Result `json:"results"`
}

func runEnroll(ctx context.Context, args []string) error {
	fs := newFlags("enroll", "usage: edgectl enroll [flags] --person ID [--name NAME] PHOTO...\n"+
		"       edgectl enroll [flags] --dir FOLDER | --csv FILE")
	var sf storeFlags
	sf.add(fs, true)
	fs.BoolVar(&sf.initKey, "init-key", false, "start a new store: create the key file and the database when they do not exist")
	modelFlag := fs.String("models", "", "models directory (default: $DOZOR_MODELS, ./var/models, ../shared/models)")
	engineName := fs.String("engine", "default", "engine: "+strings.Join(engineNames, ", ")+"; templates are made for its model")
	person := fs.String("person", "", "enrol the PHOTO arguments for this person id")
	name := fs.String("name", "", "display name for --person (a new profile defaults to its id)")
	dir := fs.String("dir", "", "enrol a folder: one sub-folder per person id, or files named <person id>[_N].jpg")
	csvFile := fs.String("csv", "", "enrol from a CSV file with columns person_id, display_name, photo[, categories, watch_lists]")
	facility := fs.String("facility", config.Defaults().Site.ID, "facility id given to new profiles (the daemon's site.id)")
	threshold := fs.Float64("threshold", 0, "similarity to another person at which a photo is refused as a look-alike (default: measured for the engine's model)")
	allowSimilar := fs.Bool("allow-similar", false, "enrol look-alikes anyway (each is still reported and audited)")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := fs.Parse(args); err != nil {
		return err
	}
	modes := 0
	for _, s := range []string{*person, *dir, *csvFile} {
		if s != "" {
			modes++
		}
	}
	switch {
	case modes != 1:
		fs.Usage()
		return errors.New("give exactly one of --person ID PHOTO..., --dir FOLDER or --csv FILE")
	case *person != "" && fs.NArg() == 0:
		return errors.New("no photos given for --person")
	case *person == "" && fs.NArg() > 0:
		return fmt.Errorf("unexpected arguments %q: photos come from --dir or --csv", fs.Args())
	case *person == "" && *name != "":
		return errors.New("--name goes with --person")
	}
	if err := sf.checkActor(); err != nil {
		return err
	}

	// The import is read and checked before the store or the models are
	// touched: a bad line is cheapest to report first.
	var items []enroll.Item
	var err error
	switch {
	case *person != "":
		for _, p := range fs.Args() {
			items = append(items, enroll.Item{Profile: enroll.Profile{ID: *person, DisplayName: *name}, Path: p})
		}
	case *dir != "":
		var skipped []string
		items, skipped, err = enroll.PlanDir(*dir)
		for _, s := range skipped {
			fmt.Fprintf(os.Stderr, "skipped (not a photo): %s\n", s)
		}
	default:
		items, err = enroll.ReadCSVFile(*csvFile)
	}
	if err != nil {
		return err
	}

	st, eng, closeAll, err := sf.openWithEngine(*modelFlag, *engineName)
	if err != nil {
		return err
	}
	defer closeAll()
	e, err := enroll.New(ctx, st, eng, enroll.Options{Actor: sf.actor, Facility: *facility, Decode: decodeStill,
		Threshold: float32(*threshold), AllowSimilar: *allowSimilar})
	if err != nil {
		return err
	}
	if n := e.Unchecked(); n > 0 {
		fmt.Fprintf(os.Stderr, "warning: %d profile(s) have no template of %s, so photos are not compared with them; "+
			"run `edgectl gallery reembed --engine %s` first for a full look-alike check\n", n, e.Model(), *engineName)
	}
	var bar *progressBar
	if *person == "" {
		bar = newProgressBar("enrol", int64(len(items)), false)
	}
	results, runErr := e.Run(ctx, items, func(int, int, enroll.Result) { bar.Add(1) })
	bar.Done()
	rep := enrollReport{Model: e.Model(), Threshold: e.Threshold(), Counts: enroll.Count(results),
		Unchecked: e.Unchecked(), Results: results}
	if *asJSON {
		if err := writeJSON(os.Stdout, rep); err != nil {
			return err
		}
	} else {
		printEnrollTable(os.Stdout, rep, *csvFile != "")
	}
	if runErr != nil {
		return runErr
	}
	failed := 0
	for _, r := range results {
		if r.Status.Failed() {
			failed++
		}
	}
	if rep.Counts[enroll.StatusEnrolled] > 0 {
		fmt.Fprintln(os.Stderr, "a running daemon uses the new templates after it reloads its gallery (SIGHUP)")
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d photo(s) were not enrolled", failed, len(items))
	}
	return nil
}

func printEnrollTable(w io.Writer, rep enrollReport, lines bool) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	if lines {
		fmt.Fprint(tw, "LINE\t")
	}
	fmt.Fprintln(tw, "PERSON\tPHOTO\tSTATUS\tDETAIL")
	for _, r := range rep.Results {
		if lines {
			fmt.Fprintf(tw, "%d\t", r.Line)
		}
		detail := r.Reason
		if r.Status == enroll.StatusEnrolled {
			detail = fmt.Sprintf("quality %.2f", r.Quality)
			if r.Reason != "" {
				detail += "; " + r.Reason
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Person, r.Image, r.Status, detail)
	}
	tw.Flush()
	var parts []string
	for _, s := range enroll.Statuses {
		if n := rep.Counts[s]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, strings.ReplaceAll(string(s), "_", " ")))
		}
	}
	fmt.Fprintf(w, "\n%d photo(s), model %s, look-alike threshold %.2f: %s\n", len(rep.Results), rep.Model, rep.Threshold,
		strings.Join(parts, ", "))
}

func runGallery(ctx context.Context, args []string) error {
	usage := "usage: edgectl gallery list [flags]\n       edgectl gallery reembed --engine NAME [flags]"
	if len(args) == 0 {
		return errors.New("a sub-command is required\n" + usage)
	}
	switch args[0] {
	case "list":
		return runGalleryList(ctx, args[1:])
	case "reembed":
		return runGalleryReembed(ctx, args[1:])
	case "help", "-h", "--help":
		fmt.Println(usage)
		return nil
	}
	return fmt.Errorf("unknown sub-command %q\n%s", args[0], usage)
}

func runGalleryList(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gallery list", flag.ContinueOnError)
	sf := storeFlags{existing: true}
	sf.add(fs, false)
	fs.BoolVar(&sf.noKey, "no-key", false, "open the store read-only without its key (listing reads no biometric data)")
	asJSON := fs.Bool("json", false, "print JSON instead of tables")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	st, err := sf.open(os.Stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := enroll.List(ctx, st)
	if err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(os.Stdout, l)
	}
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "MODEL\tTEMPLATES\tPERSONS")
	for _, m := range l.Models {
		fmt.Fprintf(tw, "%s\t%d\t%d\n", m.Model, m.Templates, m.Persons)
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "PERSON\tNAME\tSTATUS\tPHOTOS\tTEMPLATES")
	for _, p := range l.Persons {
		var ts []string
		for _, m := range l.Models {
			if n := p.Templates[m.Model]; n > 0 {
				ts = append(ts, fmt.Sprintf("%s:%d", m.Model, n))
			}
		}
		if len(ts) == 0 {
			ts = []string{"none"}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\n", p.ID, p.DisplayName, p.Status, p.Photos, strings.Join(ts, " "))
	}
	tw.Flush()
	fmt.Fprintf(os.Stdout, "\n%d profile(s), %d model(s)\n", len(l.Persons), len(l.Models))
	return nil
}

func runGalleryReembed(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("gallery reembed", flag.ContinueOnError)
	sf := storeFlags{existing: true}
	sf.add(fs, true)
	modelFlag := fs.String("models", "", "models directory (default: $DOZOR_MODELS, ./var/models, ../shared/models)")
	engineName := fs.String("engine", "", "engine whose model the templates are made for: "+strings.Join(engineNames, ", "))
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	if err := parseNoArgs(fs, args); err != nil {
		return err
	}
	if *engineName == "" {
		return errors.New("--engine is required: it names the model to build templates for")
	}
	if err := sf.checkActor(); err != nil {
		return err
	}
	st, eng, closeAll, err := sf.openWithEngine(*modelFlag, *engineName)
	if err != nil {
		return err
	}
	defer closeAll()
	// The total is known only once the store has been read, so the bar
	// starts with the first photo.
	var bar *progressBar
	rep, runErr := enroll.Reembed(ctx, st, eng, decodeStill, sf.actor, func(done, total int, r enroll.Result) {
		if done == 1 {
			bar = newProgressBar("reembed", int64(total), false)
		}
		bar.Add(1)
	})
	bar.Done()
	if *asJSON {
		if err := writeJSON(os.Stdout, rep); err != nil {
			return err
		}
	} else {
		printReembed(os.Stdout, rep)
	}
	if runErr != nil {
		return runErr
	}
	if rep.Templates > 0 {
		fmt.Fprintln(os.Stderr, "a running daemon uses the new templates after it reloads its gallery (SIGHUP)")
	}
	if len(rep.Failed) > 0 {
		return fmt.Errorf("%d person(s) got no template of %s: %s", len(rep.Failed), rep.Model, strings.Join(rep.Failed, ", "))
	}
	return nil
}

func printReembed(w io.Writer, rep enroll.ReembedReport) {
	var problems []enroll.Result
	for _, r := range rep.Results {
		if r.Status.Failed() || r.Reason != "" {
			problems = append(problems, r)
		}
	}
	if len(problems) > 0 {
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "PERSON\tPHOTO\tSTATUS\tDETAIL")
		for _, r := range problems {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Person, r.Image, r.Status, r.Reason)
		}
		tw.Flush()
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "model %s: %d person(s) with photos, %d already had a template, %d re-embedded (%d template(s)), %d failed\n",
		rep.Model, rep.Persons, rep.Skipped, rep.Reembedded, rep.Templates, len(rep.Failed))
	if len(rep.NoPhoto) > 0 {
		ids := slices.Clone(rep.NoPhoto)
		if len(ids) > 20 {
			ids = append(ids[:20], fmt.Sprintf("... %d more", len(rep.NoPhoto)-20))
		}
		fmt.Fprintf(w, "%d profile(s) have neither a template of this model nor a photo to make one from: %s\n",
			len(rep.NoPhoto), strings.Join(ids, ", "))
	}
}
