package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/dozor-edge/dozor/models"
)

const modelsUsage = `usage:
  edgectl models list [-v]
  edgectl models verify [--dir DIR] [FILE...]
  edgectl models install --from DIR [--to DIR] [--link]
  edgectl models install --url BASEURL [--to DIR] [FILE...]
  edgectl models install --official [--to DIR] [FILE...]

Without --dir, verify looks in $DOZOR_MODELS, ./var/models, ../shared/models.
The default --to is ./var/models. --url takes a mirror laid out like a models
directory; --official fetches the files that have an official download URL.
`

func runModels(ctx context.Context, args []string) error {
	if len(args) == 0 {
		fmt.Fprint(os.Stderr, modelsUsage)
		return errors.New("missing sub-command (list, verify or install)")
	}
	var err error
	switch args[0] {
	case "list":
		err = modelsList(os.Stdout, args[1:])
	case "verify":
		err = modelsVerify(os.Stdout, args[1:])
	case "install":
		err = modelsInstall(ctx, os.Stdout, args[1:])
	case "help", "-h", "--help":
		fmt.Fprint(os.Stdout, modelsUsage)
		return nil
	default:
		fmt.Fprint(os.Stderr, modelsUsage)
		return fmt.Errorf("unknown sub-command %q", args[0])
	}
	return err
}

func modelsFlags(name string) *flag.FlagSet {
	return newFlags("edgectl models "+name, modelsUsage+"\nflags:")
}

func modelsList(out io.Writer, args []string) error {
	fs := modelsFlags("list")
	verbose := fs.Bool("v", false, "also print sha256, preprocessing, templates and notes")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("list takes no arguments, got %q", fs.Args())
	}
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tROLE\tSIZE\tINPUT\tMETRIC\tDIM\tOPTIONAL\tSOURCE\tLICENCE")
	for _, f := range models.Files() {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\n",
			f.Name, f.Role, f.Size, f.Input, modelsOrDash(string(f.Metric)), modelsDim(f.Dim), modelsYesNo(f.Optional), modelsSource(f), f.License)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if !*verbose {
		return nil
	}
	for _, f := range models.Files() {
		fmt.Fprintf(out, "\n%s\n", f.Name)
		field := func(k, v string) {
			if v != "" {
				fmt.Fprintf(out, "  %-15s %s\n", k+":", v)
			}
		}
		field("description", f.Description)
		field("sha256", f.SHA256)
		field("licence", f.License)
		field("licence texts", strings.Join(f.LicenseFiles, ", "))
		field("input name", f.InputName)
		field("outputs", strings.Join(f.OutputNames, ", "))
		field("preprocess", f.Preprocess)
		if f.Blob.Scale != 0 {
			field("blob", fmt.Sprintf("scale %g, mean %v, swapRB %v", f.Blob.Scale, f.Blob.Mean, f.Blob.SwapRB))
		}
		for i, t := range f.Templates {
			name := t.Name
			if i == 0 && len(f.Templates) > 1 {
				name += " (recommended)"
			}
			pts := make([]string, len(t.Points))
			for j, p := range t.Points {
				pts[j] = fmt.Sprintf("(%g,%g)", p.X, p.Y)
			}
			field("template", fmt.Sprintf("%s %dx%d %s", name, t.Size, t.Size, strings.Join(pts, " ")))
		}
		field("url", f.URL)
		field("notes", f.Notes)
	}
	return nil
}

func modelsVerify(out io.Writer, args []string) error {
	fs := modelsFlags("verify")
	dir := fs.String("dir", "", "models directory (default: $"+models.EnvDir+", ./"+models.DefaultDir+", ../shared/models)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	d, err := models.Locate(*dir)
	if err != nil {
		return err
	}
	return modelsVerifyTable(out, d, fs.Args())
}

// modelsVerifyTable checks names in dir (none: the required files plus the
// optional ones present) and prints one row per manifest file and one per
// licence text. It returns every problem found.
func modelsVerifyTable(out io.Writer, dir string, names []string) error {
	if len(names) == 0 {
		for _, f := range models.Files() {
			if !f.Optional || modelsExists(models.Path(dir, f.Name)) {
				names = append(names, f.Name)
			}
		}
	}
	results, err := models.Check(dir, names...)
	if err != nil {
		return err
	}
	lics, err := models.CheckLicenses(dir, names...)
	if err != nil {
		return err
	}
	byName := map[string]models.Result{}
	for _, r := range results {
		byName[r.Name] = r
	}

	fmt.Fprintf(out, "models directory: %s\n\n", dir)
	tw := tabwriter.NewWriter(out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "FILE\tSIZE\tSHA256\tLICENCE")
	for _, f := range models.Files() {
		r, checked := byName[f.Name]
		switch {
		case checked:
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", f.Name, modelsSizeCell(r, f.Size), modelsStatus(r), f.License)
		case f.Optional && !slices.Contains(names, f.Name):
			fmt.Fprintf(tw, "%s\t-\tabsent (optional)\t%s\n", f.Name, f.License)
		}
	}
	fmt.Fprintln(tw)
	fmt.Fprintln(tw, "LICENCE TEXT\tSIZE\tSHA256\t")
	for _, r := range lics {
		fmt.Fprintf(tw, "%s\t%s\t%s\t\n", r.Name, modelsSizeCell(r, -1), modelsStatus(r))
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	var errs []error
	for _, r := range append(results, lics...) {
		if r.Err != nil {
			errs = append(errs, r.Err)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d of %d files failed verification:\n%w", len(errs), len(results)+len(lics), errors.Join(errs...))
	}
	fmt.Fprintf(out, "\nall %d model files and %d licence texts verified\n", len(results), len(lics))
	return nil
}

func modelsInstall(ctx context.Context, out io.Writer, args []string) error {
	fs := modelsFlags("install")
	from := fs.String("from", "", "copy the files from this models directory")
	baseURL := fs.String("url", "", "download the files from this mirror base URL")
	official := fs.Bool("official", false, "download from the official URLs (only files that have one)")
	to := fs.String("to", models.DefaultDir, "target models directory")
	link := fs.Bool("link", false, "with --from: symlink the files instead of copying them")
	if err := fs.Parse(args); err != nil {
		return err
	}
	sources := 0
	for _, set := range []bool{*from != "", *baseURL != "", *official} {
		if set {
			sources++
		}
	}
	if sources != 1 {
		return errors.New("install needs exactly one of --from DIR, --url BASEURL or --official")
	}
	if *link && *from == "" {
		return errors.New("--link works only with --from")
	}
	names := fs.Args()

	if *from != "" {
		if len(names) > 0 {
			return errors.New("install --from installs the whole set and takes no file names")
		}
		if err := models.Install(*from, *to, models.InstallOptions{Link: *link, Log: out}); err != nil {
			return err
		}
		fmt.Fprintln(out)
		return modelsVerifyTable(out, *to, nil)
	}

	if *official && len(names) == 0 {
		for _, f := range models.Files() {
			if f.URL != "" {
				names = append(names, f.Name)
			}
		}
	}
	progress, done := downloadProgress()
	err := models.Download(ctx, *to, models.DownloadOptions{BaseURL: *baseURL, Log: os.Stderr, Progress: progress}, names...)
	done()
	if err != nil {
		return err
	}
	fmt.Fprintln(out)
	return modelsVerifyTable(out, *to, names)
}

func modelsSizeCell(r models.Result, want int64) string {
	switch {
	case r.Size < 0:
		return "-"
	case errors.Is(r.Err, models.ErrSize) && want >= 0:
		return fmt.Sprintf("%d (want %d)", r.Size, want)
	}
	return fmt.Sprint(r.Size)
}

func modelsStatus(r models.Result) string {
	switch {
	case r.Err == nil:
		return "ok"
	case errors.Is(r.Err, models.ErrMissing):
		return "MISSING"
	case errors.Is(r.Err, models.ErrNotRegular):
		return "NOT A FILE"
	case errors.Is(r.Err, models.ErrSize):
		return "BAD (size)"
	case errors.Is(r.Err, models.ErrChecksum):
		return "BAD (" + r.SHA256[:min(12, len(r.SHA256))] + "…)"
	}
	return "UNREADABLE"
}

func modelsExists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

func modelsSource(f models.File) string {
	if f.URL != "" {
		return "official URL"
	}
	return "mirror only"
}

func modelsDim(d int) string {
	if d == 0 {
		return "-"
	}
	return fmt.Sprint(d)
}

func modelsOrDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func modelsYesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
