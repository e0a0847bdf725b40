package layers

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"path"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/dozor-edge/dozor"

// rule forbids packages matching from to import packages matching to,
// directly or through others. A pattern is a package path relative to the
// module, with "/..." for the package and everything below it; a path
// outside the module is written whole.
type rule struct {
	from, to []string
	except   []string // packages matching from that the rule spares
	why      string
}

// cgoLeaves are the packages that link C libraries, with the libraries
// themselves.
var cgoLeaves = []string{
	"camera/avcodec", "recognizer/opencv", "recognizer/dlib", "internal/sqlite", "internal/engines/...",
	"gocv.io/x/gocv", "github.com/Kagami/go-face", "github.com/mattn/go-sqlite3",
}

var rules = []rule{
	{
		from: []string{"edge", "edge/config", "edge/custody", "edge/rules", "edge/store", "camera", "camera/simcam",
			"recognizer", "recognizer/gallery", "recognizer/track", "recognizer/eval", "sync/...", "hw", "models",
			"internal/backoff", "internal/stats", "internal/webauth", "internal/webui", "camera/live", "edge/monitor/...",
			"region", "region/broker", "region/config", "region/ingest", "region/store", "region/gallery", "region/enrol", "region/dashboard/...", "recognizer/enrolcheck", "internal/storekey", "internal/pgtest", "internal/yamlconf", "internal/daemon"},
		to:  cgoLeaves,
		why: "only the cgo leaves link C libraries; the mains build them and hand them in",
	},
	{
		from:   []string{"edge/..."},
		to:     []string{"edge"},
		except: []string{"edge/cgodeps"},
		why:    "a package below edge must not import its parent (edge/cgodeps assembles edge for the mains)",
	},
	{
		from:   []string{"region/..."},
		to:     []string{"region"},
		except: []string{"region/cgodeps"},
		why:    "a package below region must not import its parent (region/cgodeps assembles region for the main)",
	},
	{
		from: []string{"internal/webauth"},
		to:   []string{"edge/...", "region/..."},
		why:  "the web pages' accounts serve the edge and the region alike: each hands them its own store",
	},
	{
		from: []string{"region/...", "cmd/regiond"},
		to:   []string{"edge/..."},
		why:  "the region and the edge are the two ends of the wire: they share only sync/wire and sync/gallerysync",
	},
	{
		from: []string{"edge/...", "cmd/edged", "cmd/edgectl"},
		to:   []string{"region/..."},
		why:  "the region and the edge are the two ends of the wire: they share only sync/wire and sync/gallerysync",
	},
	{
		from: []string{"sync/gallerysync"},
		to:   []string{"sync/uplink", "internal/...", "region/...", "edge/..."},
		why:  "the gallery revision format is shared by the region and the edge: it imports only sync/wire and the standard library",
	},
	{
		from: []string{"edge/store", "edge/custody"},
		to:   []string{"edge/rules", "edge/enroll", "edge/hwtest"},
		why:  "the store and the vocabulary know no engine: shared words live in edge/custody",
	},
	{
		from: []string{"camera/...", "recognizer/...", "sync/...", "hw/...", "models/..."},
		to:   []string{"edge/...", "cmd/...", "internal/bench/..."},
		why:  "leaves never import the composition roots or the tools above them",
	},
	{
		from: []string{"camera/...", "sync/...", "hw/...", "models/..."},
		to:   []string{"recognizer/..."},
		why:  "only recognizer may import a sibling leaf (camera, for the frame type)",
	},
	{
		from:   []string{"recognizer/...", "sync/...", "hw/...", "models/..."},
		to:     []string{"camera/..."},
		except: []string{"recognizer/..."},
		why:    "leaves import no sibling but recognizer -> camera",
	},
	{
		from: []string{"camera/...", "recognizer/...", "hw/...", "models/..."},
		to:   []string{"sync/..."},
		why:  "leaves import no sibling; the wire contract is the composition roots' business",
	},
	{
		from: []string{"camera/...", "recognizer/...", "sync/...", "models/..."},
		to:   []string{"hw/..."},
		why:  "leaves import no sibling",
	},
	{
		from:   []string{"camera/...", "recognizer/...", "sync/...", "hw/..."},
		to:     []string{"models/..."},
		except: []string{"recognizer/opencv", "recognizer/dlib"},
		why:    "leaves import no sibling (the engines read the model manifest)",
	},
}

func match(pattern, pkg string) bool {
	if !strings.Contains(pattern, ".") || !strings.Contains(strings.SplitN(pattern, "/", 2)[0], ".") {
		pattern = path.Join(module, pattern)
	}
	if base, ok := strings.CutSuffix(pattern, "/..."); ok {
		return pkg == base || strings.HasPrefix(pkg, base+"/")
	}
	return pkg == pattern
}

func matchAny(patterns []string, pkg string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, pkg) })
}

// graph maps a package to the packages it imports directly.
type graph map[string][]string

// violations lists every package that breaks a rule, with the chain of
// imports that leads to the forbidden package.
func violations(g graph, rules []rule) []string {
	var out []string
	for _, r := range rules {
		for pkg := range g {
			if !strings.HasPrefix(pkg, module) || !matchAny(r.from, pkg) || matchAny(r.except, pkg) {
				continue
			}
			if chain := reach(g, pkg, r.to); chain != nil {
				out = append(out, fmt.Sprintf("%s: %s", strings.Join(chain, " -> "), r.why))
			}
		}
	}
	slices.Sort(out)
	return out
}

// reach returns the shortest import chain from pkg to a package matching
// one of to, or nil.
func reach(g graph, pkg string, to []string) []string {
	prev := map[string]string{pkg: ""}
	queue := []string{pkg}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, q := range g[p] {
			if _, seen := prev[q]; seen {
				continue
			}
			prev[q] = p
			if matchAny(to, q) {
				var chain []string
				for c := q; c != ""; c = prev[c] {
					chain = append([]string{strings.TrimPrefix(c, module+"/")}, chain...)
				}
				return chain
			}
			queue = append(queue, q)
		}
	}
	return nil
}

// load reads the import graph of the module's packages and everything
// they import, as the build sees it with cgo on (tests excluded).
func load(t *testing.T) graph {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...")
	cmd.Env = append(cmd.Environ(), "CGO_ENABLED=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.Bytes())
	}
	g := graph{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) > 0 {
			g[f[0]] = f[1:]
		}
	}
	return g
}

func TestImportArrows(t *testing.T) {
	g := load(t)
	if _, ok := g[module+"/edge"]; !ok {
		t.Fatalf("the import graph has no %s/edge: go list read the wrong module", module)
	}
	for _, v := range violations(g, rules) {
		t.Error(v)
	}
}

// The check itself finds what it is for: each wrong arrow below, added to
// the real graph, is reported.
func TestImportArrowsCatchWrongImports(t *testing.T) {
	g := load(t)
	cases := []struct{ from, to string }{
		{"edge", "recognizer/opencv"},
		{"edge/store", "edge/rules"},
		{"edge/hwtest", "edge"},
		{"camera", "recognizer"},
		{"sync/wire", "edge/store"},
		{"recognizer/track", "github.com/mattn/go-sqlite3"},
		{"region/store", "edge/store"},
		{"edge", "region/ingest"},
		{"region/ingest", "region"},
		{"region/store", "github.com/mattn/go-sqlite3"},
	}
	for _, c := range cases {
		bad := graph{}
		for k, v := range g {
			bad[k] = v
		}
		from, to := path.Join(module, c.from), c.to
		if !strings.Contains(strings.SplitN(to, "/", 2)[0], ".") {
			to = path.Join(module, to)
		}
		bad[from] = append(slices.Clone(g[from]), to)
		v := violations(bad, rules)
		if !slices.ContainsFunc(v, func(s string) bool { return strings.HasPrefix(s, c.from+" -> ") }) {
			t.Errorf("an import %s -> %s was not reported; violations: %q", c.from, c.to, v)
		}
	}
}
