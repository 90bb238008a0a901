package publish

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

// Limits that keep a body readable and far below GitHub's 65,536
// characters at any fleet size. Lists longer than these are summarised
// ("… and 312 more") and the body says so; nothing is cut silently.
const (
	maxStoresListed = 5     // store ids per table cell
	maxAppsListed   = 6     // app ids per table cell
	maxRows         = 25    // rows per table
	maxBody         = 60000 // hard guard, bytes
	maxCell         = 240   // characters of a quoted message
)

// BodyMarker ends every body fleetc writes, so people know edits are
// overwritten on the next publish.
const BodyMarker = "<!-- fleetc publish: generated; edits are overwritten on the next publish -->"

// Body renders the merge request body: markdown, deterministic, the same
// for every forge.
func (r *Report) Body() string {
	w := &bodyWriter{}
	w.f("### %s\n\n", strings.TrimPrefix(r.Subject(), "fleetc: "))
	r.guards(w)
	r.blastRadius(w)
	r.changes(w)
	r.signoffs(w)
	r.deferred(w)
	r.denied(w)
	w.notes()
	out := w.String()
	if len(out) > maxBody {
		// Unreachable with the limits above; kept so a future section
		// cannot push a body past the forge's limit unannounced.
		cut := strings.LastIndexByte(out[:maxBody-200], '\n')
		out = out[:cut+1] + fmt.Sprintf("\n**This body was cut at %d of %d bytes**; see `.fleetc/decisions.jsonl` on this branch.\n\n%s\n", cut+1, len(out), BodyMarker)
	}
	return out
}

type bodyWriter struct {
	strings.Builder
	listsCut int // store/app lists summarised
	rowsCut  int // table rows left out
	tables   []string
}

func (w *bodyWriter) f(format string, args ...any) { fmt.Fprintf(w, format, args...) }

// list shows up to max items as code spans and says how many more of total.
func (w *bodyWriter) list(items []string, total, max int) string {
	shown := items[:min(len(items), max)]
	parts := make([]string, len(shown))
	for i, s := range shown {
		parts[i] = "`" + cell(s) + "`"
	}
	out := strings.Join(parts, ", ")
	if more := total - len(shown); more > 0 {
		w.listsCut++
		out += fmt.Sprintf(", … and %d more", more)
	}
	return out
}

// moreRows closes a table of total rows of which maxRows were shown: it
// says how many were left out and remembers it for the notes.
func (w *bodyWriter) moreRows(name string, total int) {
	if total > maxRows {
		w.rowsCut += total - maxRows
		w.tables = append(w.tables, name)
		w.f("\n_… and %d more rows; `fleetc plan --format json` lists all._\n", total-maxRows)
	}
}

func (w *bodyWriter) notes() {
	w.f("---\n")
	if w.listsCut == 0 && w.rowsCut == 0 {
		w.f("Every list above is complete. ")
	} else {
		w.f("Summarised: %d lists show their first entries only", w.listsCut)
		if w.rowsCut > 0 {
			w.f(", and %d rows were left out of %s", w.rowsCut, strings.Join(w.tables, ", "))
		}
		w.f(". ")
	}
	w.f("Full detail: `.fleetc/decisions.jsonl` and `.fleetc/state.json` on this branch.\n\n%s\n", BodyMarker)
}

func (r *Report) blastRadius(w *bodyWriter) {
	s := r.Plan.Summary
	w.f("**Blast radius:** %s of %s stores (%s), %s (store, app) changes: %d added, %d upgraded, %d downgraded, %d reconfigured, %d removed.\n\n",
		num(s.StoresTouched), num(s.FleetStores), percent(s.StoresTouched, s.FleetStores), num(s.Counts.Changed()),
		s.Counts.Added, s.Counts.Upgraded, s.Counts.Downgraded, s.Counts.Reconfigured, s.Counts.Removed)
	if len(r.Plan.StoresAdded) > 0 {
		w.f("Stores added: %s.\n\n", w.list(r.Plan.StoresAdded, len(r.Plan.StoresAdded), maxStoresListed))
	}
	if len(r.Plan.StoresRemoved) > 0 {
		w.f("**Stores removed:** %s.\n\n", w.list(r.Plan.StoresRemoved, len(r.Plan.StoresRemoved), maxStoresListed))
	}
	if n := len(r.Plan.RingMoves); n > 0 {
		moves := make([]string, 0, min(n, maxStoresListed))
		for _, m := range r.Plan.RingMoves[:min(n, maxStoresListed)] {
			moves = append(moves, fmt.Sprintf("%s %s→%s", m.Store, m.From, m.To))
		}
		w.f("Ring moves: %s.\n\n", w.list(moves, n, maxStoresListed))
	}
	if len(r.Rings) == 0 {
		return
	}
	w.f("| ring | stores | touched | share |\n|---|---:|---:|---:|\n")
	for i, rs := range r.Rings {
		if i == maxRows {
			break
		}
		w.f("| %s | %s | %s | %s |\n", cell(rs.Ring), num(rs.Stores), num(rs.Touched), percent(rs.Touched, rs.Stores))
	}
	w.moreRows("rings", len(r.Rings))
	w.f("\n")
}

func (r *Report) changes(w *bodyWriter) {
	type row struct{ app, ring, change, stores string }
	var rows []row
	for _, a := range r.Plan.Summary.Apps {
		for _, rs := range a.Rings {
			for _, t := range rs.Transitions {
				if len(rows) >= maxRows {
					rows = append(rows, row{}) // counted, not rendered
					continue
				}
				rows = append(rows, row{a.App, rs.Ring, fmt.Sprintf("%s %s", t.Kind, transitionText(t)),
					fmt.Sprintf("%s | %s", num(t.Count), w.list(t.Stores, t.Count, maxStoresListed))})
			}
		}
	}
	w.f("#### Changes per app and ring\n\n")
	if len(rows) == 0 {
		w.f("No store changes what it runs.\n\n")
		return
	}
	w.f("| app | ring | change | stores | which |\n|---|---|---|---:|---|\n")
	for _, x := range rows[:min(len(rows), maxRows)] {
		w.f("| %s | %s | %s | %s |\n", cell(x.app), cell(x.ring), cell(x.change), x.stores)
	}
	w.moreRows("changes", len(rows))
	w.f("\n")
}

// teamNeed is one team whose sign-off is still missing.
type teamNeed struct {
	Team   string
	Pairs  int
	Stores []string
	Apps   []string
	Rules  []ruleRef
}

type ruleRef struct {
	Rule string
	Pos  diag.Pos
}

// missingTeams groups decisions by the teams whose sign-off they still
// miss, by team name.
func (r *Report) missingTeams() []teamNeed {
	byTeam := map[string]*teamNeed{}
	stores := map[string]map[string]bool{}
	apps := map[string]map[string]bool{}
	for i := range r.Decisions {
		d := &r.Decisions[i]
		for _, team := range d.Teams {
			t := byTeam[team]
			if t == nil {
				t = &teamNeed{Team: team}
				byTeam[team] = t
				stores[team], apps[team] = map[string]bool{}, map[string]bool{}
			}
			t.Pairs++
			stores[team][d.Store] = true
			apps[team][d.App] = true
			for _, rs := range d.Reasons {
				ref := ruleRef{rs.Rule, rs.Pos}
				if rs.Verdict == policy.NeedsSignoff && slices.Contains(rs.Teams, team) && !slices.Contains(t.Rules, ref) {
					t.Rules = append(t.Rules, ref)
				}
			}
		}
	}
	out := make([]teamNeed, 0, len(byTeam))
	for name, t := range byTeam {
		t.Stores, t.Apps = sortedSet(stores[name]), sortedSet(apps[name])
		slices.SortFunc(t.Rules, func(a, b ruleRef) int { return cmp.Compare(a.Rule, b.Rule) })
		out = append(out, *t)
	}
	slices.SortFunc(out, func(a, b teamNeed) int { return cmp.Compare(a.Team, b.Team) })
	return out
}

func (r *Report) signoffs(w *bodyWriter) {
	teams := r.missingTeams()
	w.f("#### Sign-off needed\n\n")
	if len(teams) == 0 {
		w.f("None: no change waits for a team's approval.\n\n")
		return
	}
	w.f("The sign-off gate holds the merge until a member of each team below approves this merge request.\n\n")
	w.f("| team | pairs | stores | apps | asked by |\n|---|---:|---:|---|---|\n")
	for i, t := range teams {
		if i == maxRows {
			break
		}
		refs := make([]string, len(t.Rules))
		for j, ref := range t.Rules {
			refs[j] = ruleText(ref.Rule, ref.Pos)
		}
		w.f("| **%s** | %s | %s | %s | %s |\n", cell(t.Team), num(t.Pairs), num(len(t.Stores)),
			w.list(t.Apps, len(t.Apps), maxAppsListed), strings.Join(refs, "<br>"))
	}
	w.moreRows("sign-offs", len(teams))
	w.f("\n")
}

func (r *Report) deferred(w *bodyWriter) {
	w.f("#### Deferred\n\n")
	n := r.Verdicts.Verdicts[policy.Defer]
	if n == 0 {
		w.f("None: no change waits for a window or a freeze.\n\n")
		return
	}
	w.f("%s pairs keep what their stores run now and go ahead on a later compile once their window opens or the freeze ends; they do not stall their ring.\n\n", num(n))
	w.f("| rule | pairs | stores | next opens (store-local) | e.g. |\n|---|---:|---:|---|---|\n")
	rules := 0
	for _, rs := range r.Verdicts.Rules {
		if rs.Verdict != policy.Defer {
			continue
		}
		if rules++; rules > maxRows {
			continue
		}
		next := "unknown"
		if rs.Next != nil {
			next = fmt.Sprintf("%s (`%s`)", r.local(*rs.Next, rs.NextStore), cell(rs.NextStore))
		}
		w.f("| %s | %s | %s | %s | %s |\n", ruleText(rs.Rule, rs.Pos), num(rs.Pairs), num(len(rs.Stores)), next, quote(rs.Example))
	}
	w.moreRows("deferrals", rules)

	// When the deferred stores may go ahead, earliest first.
	type bucket struct {
		until  *time.Time
		stores map[string]bool
	}
	byUntil := map[string]*bucket{}
	for i := range r.Decisions {
		d := &r.Decisions[i]
		if d.Verdict != policy.Defer {
			continue
		}
		key := "~unknown"
		if d.Until != nil {
			key = d.Until.UTC().Format(time.RFC3339)
		}
		b := byUntil[key]
		if b == nil {
			b = &bucket{until: d.Until, stores: map[string]bool{}}
			byUntil[key] = b
		}
		b.stores[d.Store] = true
	}
	keys := make([]string, 0, len(byUntil))
	for k := range byUntil {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	w.f("\n| deferred until (UTC) | stores | which |\n|---|---:|---|\n")
	for i, k := range keys {
		if i == maxRows {
			break
		}
		b := byUntil[k]
		when := "open-ended (the rule gives no time)"
		if b.until != nil {
			when = b.until.UTC().Format("2006-01-02 15:04")
		}
		ids := sortedSet(b.stores)
		w.f("| %s | %s | %s |\n", when, num(len(ids)), w.list(ids, len(ids), maxStoresListed))
	}
	w.moreRows("deferral times", len(keys))
	w.f("\n")
}

func (r *Report) denied(w *bodyWriter) {
	w.f("#### Denied\n\n")
	n := r.Verdicts.Verdicts[policy.Deny]
	if n == 0 {
		w.f("None.\n\n")
		return
	}
	w.f("%s pairs must not run where they were targeted; their stores do not get them (and remove them where they ran).\n\n", num(n))
	w.f("| rule | pairs | apps | stores | reason (e.g.) |\n|---|---:|---|---|---|\n")
	rules := 0
	for _, rs := range r.Verdicts.Rules {
		if rs.Verdict != policy.Deny {
			continue
		}
		if rules++; rules > maxRows {
			continue
		}
		w.f("| %s | %s | %s | %s | %s |\n", ruleText(rs.Rule, rs.Pos), num(rs.Pairs),
			w.list(rs.Apps, len(rs.Apps), maxAppsListed), w.list(rs.Stores, len(rs.Stores), maxStoresListed), quote(rs.Example))
	}
	w.moreRows("denials", rules)
	w.f("\n")
}

// ruleText is "`legal.deny_bipa` at policies/legal.rego:17:1".
func ruleText(rule string, pos diag.Pos) string {
	if rule == "" {
		rule = "(no rule)"
	}
	s := "`" + cell(rule) + "`"
	if pos.IsValid() {
		s += " at " + cell(pos.String())
	}
	return s
}

// cell escapes text for a markdown table cell: no pipes, newlines or HTML.
func cell(s string) string {
	s = strings.NewReplacer("|", `\|`, "\r", " ", "\n", " ", "<", "&lt;", ">", "&gt;", "`", "'").Replace(s)
	return s
}

// quote shows a message in a cell, shortened with an ellipsis past maxCell
// runes (the full text is in decisions.jsonl).
func quote(s string) string {
	if rs := []rune(s); len(rs) > maxCell {
		s = string(rs[:maxCell-1]) + "…"
	}
	return cell(s)
}

// num formats an integer with thousands separators: 60,000.
func num(n int) string {
	s := fmt.Sprint(n)
	if n < 0 {
		return "-" + num(-n)
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

func sortedSet(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
