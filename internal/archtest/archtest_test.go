package archtest

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
)

// docPath is where the rules live, relative to the module root.
const docPath = "docs/architecture.md"

// TestArchitecture checks the import rules of docs/architecture.md against the
// non-test imports of every package in the module.
func TestArchitecture(t *testing.T) {
	root, module := moduleRoot(t)
	doc, err := os.ReadFile(filepath.Join(root, docPath))
	if err != nil {
		t.Fatalf("read the rules: %v", err)
	}
	rs, err := parseRules(string(doc))
	if err != nil {
		t.Fatalf("%s: the rules block does not parse:\n%v", docPath, err)
	}
	if err := sameKinds(rs, tableKinds(string(doc))); err != nil {
		t.Errorf("%s: the rules table and the rules block disagree: %v", docPath, err)
	}
	pkgs := listPackages(t, root)
	rep := check(rs, module, pkgs)
	for _, n := range rep.notes {
		t.Logf("note: %s", n)
	}
	for _, p := range rep.problems {
		t.Errorf("%s: %s", docPath, p)
	}
	if len(rep.violations) > 0 {
		var b strings.Builder
		fmt.Fprintf(&b, "%d import(s) break the rules of %s:\n", len(rep.violations), docPath)
		for _, v := range rep.violations {
			fmt.Fprintf(&b, "  %s\n", v)
		}
		b.WriteString("Move the code to a package of the right kind, or change the rule and the page together.")
		t.Error(b.String())
	}
	t.Logf("checked %d packages against %d kinds and %d rules", len(pkgs), len(rs.kinds), len(rs.rules))
}

// TestCheckerReportsViolations proves the checker can fail: a synthetic module that breaks
// each kind of rule must be reported import by import, with the rule that forbids it.
func TestCheckerReportsViolations(t *testing.T) {
	// The rules start on line 4 of the page, as they would in docs/architecture.md.
	doc := "# Architecture\n\n```rules\n" + `# kinds
kind domain = internal/order planned:internal/payment
kind store  = internal/*db
kind http   = internal/httpapi

only store may import github.com/uptrace/bun/...
deny domain -> store http net/http/...
deny http -> store
allow http -> internal/auditdb
` + "```\n"
	rs, err := parseRules(doc)
	if err != nil {
		t.Fatalf("parseRules: %v", err)
	}
	pkgs := []goPackage{
		{"example.com/m/internal/order", []string{"fmt", "github.com/uptrace/bun/dialect/pgdialect", "net/http", "example.com/m/internal/orderdb"}},
		{"example.com/m/internal/orderdb", []string{"example.com/m/internal/order", "github.com/uptrace/bun"}},
		{"example.com/m/internal/auditdb", []string{"github.com/uptrace/bun"}},
		{"example.com/m/internal/httpapi", []string{"net/http", "example.com/m/internal/auditdb", "example.com/m/internal/orderdb"}},
	}
	rep := check(rs, "example.com/m", pkgs)
	var got []string
	for _, v := range rep.violations {
		got = append(got, v.String())
	}
	want := []string{
		"internal/httpapi imports internal/orderdb: line 11: deny http -> store",
		"internal/order imports github.com/uptrace/bun/dialect/pgdialect: line 9: only store may import github.com/uptrace/bun/...",
		"internal/order imports internal/orderdb: line 10: deny domain -> store http net/http/...",
		"internal/order imports net/http: line 10: deny domain -> store http net/http/...",
	}
	if !slices.Equal(got, want) {
		t.Errorf("violations:\nwant %s\ngot  %s", strings.Join(want, "\n     "), strings.Join(got, "\n     "))
	}
	if len(rep.problems) != 0 {
		t.Errorf("problems: want none, got %q", rep.problems)
	}
}

// TestCheckerProblems covers the ways the rules themselves can be wrong or stale.
func TestCheckerProblems(t *testing.T) {
	block := func(lines ...string) string {
		return "intro\n\n```rules\n" + strings.Join(lines, "\n") + "\n```\n"
	}
	tests := []struct {
		name     string
		doc      string
		pkgs     []goPackage
		parseErr string // substring of the parse error, "" for none
		problem  string // substring of one problem, "" for none at all
	}{
		{name: "no rules block", doc: "# Architecture\n\nno rules here\n", parseErr: "no ```rules block"},
		{name: "unclosed rules block", doc: "```rules\nkind a = internal/a\n", parseErr: "not closed"},
		{name: "two rules blocks", doc: block("kind a = internal/a") + block("kind b = internal/b"), parseErr: "more than one"},
		{name: "empty rules block", doc: block("# nothing"), parseErr: "no kind"},
		{name: "unparseable line", doc: block("kind a = internal/a", "forbid a -> b"), parseErr: "line 5: cannot parse"},
		{name: "deny without targets", doc: block("kind a = internal/a", "deny a ->"), parseErr: "line 5"},
		{name: "unknown kind", doc: block("kind a = internal/a", "deny a -> stroe"), parseErr: `unknown kind "stroe"`},
		{name: "bad pattern", doc: block("kind a = internal/[a"), parseErr: "bad pattern"},
		{name: "dots in the middle", doc: block("kind a = internal/.../x"), parseErr: "bad pattern"},
		{name: "kind declared twice over", doc: block("kind a = internal/a", "kind a = internal/b", "kind 9 = internal/c"), parseErr: "line 6"},
		{
			name:    "stale kind pattern",
			doc:     block("kind a = internal/a internal/gone"),
			pkgs:    []goPackage{{"example.com/m/internal/a", nil}},
			problem: "internal/gone matches no package",
		},
		{
			name:    "stale subject pattern",
			doc:     block("kind a = internal/a", "deny internal/gone -> a"),
			pkgs:    []goPackage{{"example.com/m/internal/a", nil}},
			problem: "internal/gone matches no package",
		},
		{
			name: "planned pattern may match nothing",
			doc:  block("kind a = internal/a planned:internal/later", "deny planned:internal/later/x -> a"),
			pkgs: []goPackage{{"example.com/m/internal/a", nil}},
		},
		{
			name:    "package with no kind",
			doc:     block("kind a = internal/a"),
			pkgs:    []goPackage{{"example.com/m/internal/a", nil}, {"example.com/m/internal/stray", nil}},
			problem: "internal/stray belongs to no kind",
		},
		{
			name:    "package in two kinds",
			doc:     block("kind a = internal/a", "kind b = internal/*"),
			pkgs:    []goPackage{{"example.com/m/internal/a", nil}},
			problem: "internal/a belongs to two kinds",
		},
		{
			name:    "allow that no import uses",
			doc:     block("kind a = internal/a", "kind b = internal/b", "deny a -> b", "allow a -> internal/b"),
			pkgs:    []goPackage{{"example.com/m/internal/a", nil}, {"example.com/m/internal/b", nil}},
			problem: "line 7: allow a -> internal/b exempts no import",
		},
		{
			name: "allow in use",
			doc:  block("kind a = internal/a", "kind b = internal/b", "deny a -> b", "allow a -> internal/b"),
			pkgs: []goPackage{{"example.com/m/internal/a", []string{"example.com/m/internal/b"}}, {"example.com/m/internal/b", nil}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rs, err := parseRules(tc.doc)
			if tc.parseErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.parseErr) {
					t.Fatalf("parseRules error: want one containing %q, got %v", tc.parseErr, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseRules: %v", err)
			}
			rep := check(rs, "example.com/m", tc.pkgs)
			if len(rep.violations) != 0 {
				t.Errorf("violations: want none, got %v", rep.violations)
			}
			if tc.problem == "" {
				if len(rep.problems) != 0 {
					t.Errorf("problems: want none, got %q", rep.problems)
				}
				return
			}
			if !slices.ContainsFunc(rep.problems, func(p string) bool { return strings.Contains(p, tc.problem) }) {
				t.Errorf("problems: want one containing %q, got %q", tc.problem, rep.problems)
			}
		})
	}
}

// TestTableKinds checks that the table of kinds is read from the page as intended.
func TestTableKinds(t *testing.T) {
	doc := "| kind | packages |\n|---|---|\n| `domain` | x |\n| `http` | y |\n\n| not | a kind |\n"
	got := tableKinds(doc)
	if want := []string{"domain", "http"}; !slices.Equal(got, want) {
		t.Errorf("tableKinds = %q, want %q", got, want)
	}
	rs := &ruleSet{kinds: map[string]*kind{"domain": {}, "store": {}}}
	if err := sameKinds(rs, got); err == nil || !strings.Contains(err.Error(), "store") || !strings.Contains(err.Error(), "http") {
		t.Errorf("sameKinds: want an error naming store and http, got %v", err)
	}
}

// A goPackage is one package as `go list` reports it: its import path and the imports
// of its non-test files.
type goPackage struct {
	Path    string
	Imports []string
}

// moduleRoot walks up from the working directory to go.mod and returns its directory
// and module path.
func moduleRoot(t *testing.T) (dir, module string) {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil {
			for line := range strings.Lines(string(data)) {
				if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "module "); ok {
					return dir, strings.Trim(strings.TrimSpace(rest), `"`)
				}
			}
			t.Fatalf("%s/go.mod has no module line", dir)
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the working directory")
		}
		dir = parent
	}
}

// listPackages runs go list in root and returns every package with its non-test imports.
func listPackages(t *testing.T, root string) []goPackage {
	t.Helper()
	cmd := exec.Command("go", "list", "-deps=false", "-f", `{{.ImportPath}} {{join .Imports " "}}`, "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list ./...: %v\n%s", err, stderr.Bytes())
	}
	var pkgs []goPackage
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		pkgs = append(pkgs, goPackage{Path: f[0], Imports: f[1:]})
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(pkgs) == 0 {
		t.Fatal("go list ./... found no packages")
	}
	return pkgs
}

// The rules language, one statement a line, # starts a comment line:
//
//	kind NAME = PATTERN...             packages of this module that are of kind NAME
//	deny SUBJECT... -> TARGET...       a subject package must not import a target
//	only SUBJECT... may import TARGET...  a package that is no subject must not import a target
//	allow SUBJECT... -> TARGET...      exempts these imports from deny and only
//
// A SUBJECT or TARGET is a kind name (a bare word) or a path pattern. Paths of this module
// are written without the module path (internal/catalog); other paths in full
// (net/http, github.com/uptrace/bun). A trailing /... also matches every path below, * matches
// within one path element, and a planned: prefix marks a package yet to be written, which
// may match nothing.

type verb string

const (
	deny  verb = "deny"
	allow verb = "allow"
	only  verb = "only"
)

// pattern is one path pattern of the rules.
type pattern struct {
	text    string   // as written, without planned:
	planned bool     // may match nothing
	elems   []string // path.Match patterns, one per element
	tree    bool     // ended in /..., so it also matches every path below
}

// match reports whether p matches the path (module paths without the module prefix).
func (p *pattern) match(pkg string) bool {
	el := strings.Split(pkg, "/")
	if len(el) < len(p.elems) || (!p.tree && len(el) != len(p.elems)) {
		return false
	}
	for i, e := range p.elems {
		if ok, _ := path.Match(e, el[i]); !ok {
			return false
		}
	}
	return true
}

// term is a kind name or a pattern.
type term struct {
	kind string
	pat  *pattern
}

type kind struct {
	name string
	line int // of its first declaration
	pats []*pattern
}

type rule struct {
	line     int    // in the document
	text     string // as written
	verb     verb
	subjects []term
	targets  []term
}

type ruleSet struct {
	kinds map[string]*kind
	order []string // kind names in declaration order
	rules []*rule
}

var kindName = regexp.MustCompile(`^[a-z][a-z0-9_-]*$`)

// parseRules reads the one ```rules block of doc. Its error lists every line it cannot read.
func parseRules(doc string) (*ruleSet, error) {
	lines := strings.Split(doc, "\n")
	start, end := -1, -1
	for i, l := range lines {
		switch {
		case strings.TrimSpace(l) == "```rules":
			if start >= 0 {
				return nil, fmt.Errorf("line %d: more than one ```rules block", i+1)
			}
			start = i
			end = -1
			for j := i + 1; j < len(lines); j++ {
				if strings.TrimSpace(lines[j]) == "```" {
					end = j
					break
				}
			}
			if end < 0 {
				return nil, fmt.Errorf("line %d: the ```rules block is not closed", i+1)
			}
		}
	}
	if start < 0 {
		return nil, errors.New("no ```rules block")
	}
	rs := &ruleSet{kinds: map[string]*kind{}}
	var errs []error
	bad := func(n int, format string, args ...any) {
		errs = append(errs, fmt.Errorf("line %d: "+format, append([]any{n}, args...)...))
	}
	for i := start + 1; i < end; i++ {
		n, text := i+1, strings.TrimSpace(lines[i])
		if text == "" || strings.HasPrefix(text, "#") {
			continue
		}
		f := strings.Fields(text)
		switch {
		case f[0] == "kind" && len(f) >= 4 && f[2] == "=":
			name := f[1]
			if !kindName.MatchString(name) {
				bad(n, "kind name %q is not a lower-case word", name)
				continue
			}
			k := rs.kinds[name]
			if k == nil {
				k = &kind{name: name, line: n}
				rs.kinds[name] = k
				rs.order = append(rs.order, name)
			}
			for _, s := range f[3:] {
				p, err := parsePattern(s)
				if err != nil {
					bad(n, "%v", err)
					continue
				}
				k.pats = append(k.pats, p)
			}
		case (f[0] == "deny" || f[0] == "allow") && slices.Index(f, "->") > 1 && slices.Index(f, "->") < len(f)-1 && strings.Count(text, "->") == 1:
			arrow := slices.Index(f, "->")
			r := &rule{line: n, text: strings.Join(f, " "), verb: verb(f[0])}
			r.subjects = parseTerms(f[1:arrow], n, bad)
			r.targets = parseTerms(f[arrow+1:], n, bad)
			rs.rules = append(rs.rules, r)
		case f[0] == "only" && slices.Index(f, "may") > 1 && slices.Index(f, "may") < len(f)-2 && f[slices.Index(f, "may")+1] == "import":
			may := slices.Index(f, "may")
			r := &rule{line: n, text: strings.Join(f, " "), verb: only}
			r.subjects = parseTerms(f[1:may], n, bad)
			r.targets = parseTerms(f[may+2:], n, bad)
			rs.rules = append(rs.rules, r)
		default:
			bad(n, "cannot parse %q (want kind NAME = PATTERN..., deny A... -> B..., allow A... -> B..., or only A... may import B...)", text)
		}
	}
	if len(rs.kinds) == 0 {
		errs = append(errs, fmt.Errorf("line %d: the rules block declares no kind", start+1))
	}
	for _, r := range rs.rules {
		for _, tm := range slices.Concat(r.subjects, r.targets) {
			if tm.pat == nil && rs.kinds[tm.kind] == nil {
				bad(r.line, "unknown kind %q (a bare word names a kind; write paths with a /)", tm.kind)
			}
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return rs, nil
}

// parseTerms reads kind names and patterns, reporting bad ones through bad.
func parseTerms(fields []string, n int, bad func(int, string, ...any)) []term {
	var ts []term
	for _, s := range fields {
		if kindName.MatchString(s) {
			ts = append(ts, term{kind: s})
			continue
		}
		p, err := parsePattern(s)
		if err != nil {
			bad(n, "%v", err)
			continue
		}
		ts = append(ts, term{pat: p})
	}
	return ts
}

func parsePattern(s string) (*pattern, error) {
	p := &pattern{}
	s, p.planned = strings.CutPrefix(s, "planned:")
	p.text = s
	el := strings.Split(s, "/")
	if len(el) > 1 && el[len(el)-1] == "..." {
		p.tree, el = true, el[:len(el)-1]
	}
	for _, e := range el {
		if _, err := path.Match(e, ""); err != nil || e == "" || e == "." || e == ".." || strings.Contains(e, "...") {
			return nil, fmt.Errorf("bad pattern %q", s)
		}
	}
	p.elems = el
	return p, nil
}

// violation is one import a rule forbids.
type violation struct {
	pkg, imp string
	rule     *rule
}

func (v violation) String() string {
	return fmt.Sprintf("%s imports %s: line %d: %s", v.pkg, v.imp, v.rule.line, v.rule.text)
}

// report is what check found: forbidden imports, rules that are wrong or stale, and notes
// that need no action yet.
type report struct {
	violations []violation
	problems   []string
	notes      []string
}

// check applies rs to the packages of module.
func check(rs *ruleSet, module string, pkgs []goPackage) report {
	var rep report
	local := func(p string) (string, bool) {
		if p == module {
			return ".", true
		}
		if rest, ok := strings.CutPrefix(p, module+"/"); ok {
			return rest, true
		}
		return p, false
	}
	hits := map[*pattern]int{}
	var mine []string // the module's packages, module prefix removed
	for _, p := range pkgs {
		if rel, ok := local(p.Path); ok {
			mine = append(mine, rel)
		}
	}
	sort.Strings(mine)
	inKind := func(name, rel string) bool {
		for _, p := range rs.kinds[name].pats {
			if p.match(rel) {
				return true
			}
		}
		return false
	}
	matches := func(ts []term, p string, isLocal bool) bool {
		for _, tm := range ts {
			if tm.pat != nil && tm.pat.match(p) || tm.pat == nil && isLocal && inKind(tm.kind, p) {
				return true
			}
		}
		return false
	}

	// Every package is of exactly one kind.
	for _, rel := range mine {
		var of []string
		for _, name := range rs.order {
			for _, p := range rs.kinds[name].pats {
				if p.match(rel) {
					hits[p]++
					if !slices.Contains(of, name) {
						of = append(of, name)
					}
				}
			}
		}
		switch {
		case len(of) == 0:
			rep.problems = append(rep.problems, fmt.Sprintf("package %s belongs to no kind: add it to a kind line", rel))
		case len(of) > 1:
			rep.problems = append(rep.problems, fmt.Sprintf("package %s belongs to two kinds or more: %s", rel, strings.Join(of, ", ")))
		}
		for _, r := range rs.rules {
			for _, tm := range r.subjects {
				if tm.pat != nil && tm.pat.match(rel) {
					hits[tm.pat]++
				}
			}
		}
	}
	stale := func(where string, line int, p *pattern) {
		switch {
		case hits[p] == 0 && !p.planned:
			rep.problems = append(rep.problems, fmt.Sprintf("line %d: %s: %s matches no package (mark it planned: if it is yet to be written, or drop it)", line, where, p.text))
		case hits[p] > 0 && p.planned:
			rep.notes = append(rep.notes, fmt.Sprintf("line %d: %s: planned:%s now exists; the planned: mark can go", line, where, p.text))
		}
	}
	for _, name := range rs.order {
		for _, p := range rs.kinds[name].pats {
			stale("kind "+name, rs.kinds[name].line, p)
		}
	}
	for _, r := range rs.rules {
		for _, tm := range r.subjects {
			if tm.pat != nil {
				stale(string(r.verb)+" rule", r.line, tm.pat)
			}
		}
	}

	// Imports.
	used := map[*rule]bool{}
	for _, p := range pkgs {
		rel, _ := local(p.Path)
		for _, imp := range p.Imports {
			irel, iLocal := local(imp)
			var broken []*rule
			for _, r := range rs.rules {
				switch r.verb {
				case deny:
					if matches(r.subjects, rel, true) && matches(r.targets, irel, iLocal) {
						broken = append(broken, r)
					}
				case only:
					if matches(r.targets, irel, iLocal) && !matches(r.subjects, rel, true) {
						broken = append(broken, r)
					}
				}
			}
			if len(broken) == 0 {
				continue
			}
			exempt := false
			for _, r := range rs.rules {
				if r.verb == allow && matches(r.subjects, rel, true) && matches(r.targets, irel, iLocal) {
					used[r], exempt = true, true
				}
			}
			if exempt {
				continue
			}
			for _, r := range broken {
				rep.violations = append(rep.violations, violation{pkg: rel, imp: irel, rule: r})
			}
		}
	}
	for _, r := range rs.rules {
		if r.verb == allow && !used[r] {
			rep.problems = append(rep.problems, fmt.Sprintf("line %d: %s exempts no import: drop it", r.line, r.text))
		}
	}
	sort.Slice(rep.violations, func(i, j int) bool {
		return rep.violations[i].String() < rep.violations[j].String()
	})
	return rep
}

// tableKinds returns the kinds named in the first cell of the page's table rows, written
// as `name`, in order.
func tableKinds(doc string) []string {
	var names []string
	cell := regexp.MustCompile("^\\|\\s*`([a-z][a-z0-9_-]*)`\\s*\\|")
	for l := range strings.Lines(doc) {
		if m := cell.FindStringSubmatch(strings.TrimSpace(l)); m != nil && !slices.Contains(names, m[1]) {
			names = append(names, m[1])
		}
	}
	return names
}

// sameKinds reports kinds that are in the rules block but not in the table, or the other way round.
func sameKinds(rs *ruleSet, table []string) error {
	var onlyRules, onlyTable []string
	for name := range rs.kinds {
		if !slices.Contains(table, name) {
			onlyRules = append(onlyRules, name)
		}
	}
	for _, name := range table {
		if rs.kinds[name] == nil {
			onlyTable = append(onlyTable, name)
		}
	}
	sort.Strings(onlyRules)
	if len(onlyRules)+len(onlyTable) == 0 {
		return nil
	}
	return fmt.Errorf("kinds missing from the table: %q; kinds in the table but not in the rules: %q", onlyRules, onlyTable)
}
