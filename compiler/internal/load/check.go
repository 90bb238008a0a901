package load

import (
	"fmt"
	"slices"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/internal/window"
)

// merge assembles the fleet from per-file results in file order and runs
// the checks across files. elsewhere, when not nil, says whether a store
// is declared in a file that is not among results (LoadStore): references
// to it are known.
func merge(s *schema, results []fileResult, elsewhere func(id string) bool) (*model.Fleet, diag.List) {
	var l diag.List
	fleet := &model.Fleet{}
	var settingsPos diag.Pos
	haveSettings := false
	seen := map[entityKey]diag.Pos{}
	invalid := map[entityKey]bool{}
	// add reports whether an entity is new, else reports the duplicate.
	add := func(kind model.RefKind, name string, pos diag.Pos) bool {
		k := entityKey{kind, name}
		if first, dup := seen[k]; dup {
			l.Add(diag.Diagnostic{
				Pos:     pos,
				Path:    joinPath(kindKey(kind), name),
				Code:    "duplicate-" + string(kind),
				Message: fmt.Sprintf("%s %q is already declared", kind, name),
				Related: []diag.Pos{first},
			})
			return false
		}
		seen[k] = pos
		return true
	}
	var ringOrderPos []map[string]diag.Pos
	for _, r := range results {
		l.Merge(r.Diags)
		for _, k := range r.Invalid {
			invalid[k] = true
		}
		if r.Settings != nil {
			if !haveSettings {
				fleet.Settings, settingsPos, haveSettings = *r.Settings, r.SettingsPos, true
			} else {
				l.Add(diag.Diagnostic{Pos: r.SettingsPos, Path: "settings", Code: "duplicate-settings",
					Message: "settings are already declared; declare them once (fleet.cue)", Related: []diag.Pos{settingsPos}})
			}
		}
		for _, x := range r.Stores {
			if add(model.RefStore, x.ID, x.Pos) {
				fleet.Stores = append(fleet.Stores, x)
			}
		}
		for _, x := range r.Groups {
			if add(model.RefGroup, x.Name, x.Pos) {
				fleet.Groups = append(fleet.Groups, x)
			}
		}
		for _, x := range r.Apps {
			if add(model.RefApp, x.ID, x.Pos) {
				fleet.Apps = append(fleet.Apps, x)
			}
		}
		for _, x := range r.Rings {
			if add(model.RefRing, x.Name, x.Pos) {
				fleet.Rings = append(fleet.Rings, x)
				ringOrderPos = append(ringOrderPos, r.RingOrderPos)
			}
		}
		for _, x := range r.Freezes {
			if add(model.RefFreeze, x.Name, x.Pos) {
				fleet.Freezes = append(fleet.Freezes, x)
			}
		}
		for _, x := range r.Overrides {
			if add("override", x.ID, x.Pos) {
				fleet.Overrides = append(fleet.Overrides, x)
			}
		}
		for _, x := range r.Halts {
			if add("halt", x.ID, x.Pos) {
				fleet.Halts = append(fleet.Halts, x)
			}
		}
		for _, x := range r.Teams {
			if add(model.RefTeam, x.Name, x.Pos) {
				fleet.Teams = append(fleet.Teams, x)
			}
		}
	}
	if !haveSettings {
		fleet.Settings = s.settings
	}
	checkRingOrder(&l, fleet.Rings, ringOrderPos)
	checkAgentKeys(&l, fleet.Stores)
	checkGateName(&l, fleet)
	checkAgentApps(&l, fleet)
	fleet.Index()
	checkRefs(&l, fleet, invalid, elsewhere)
	checkCycles(&l, fleet)
	return fleet, l
}

func kindKey(kind model.RefKind) string {
	if kind == "override" {
		return "overrides"
	}
	if kind == "halt" {
		return "halts"
	}
	return string(kind) + "s"
}

// checkRingOrder reports a ring whose order an earlier ring already has.
// rings are in file order; orderPos[i] holds ring i's file positions.
func checkRingOrder(l *diag.List, rings []*model.Ring, orderPos []map[string]diag.Pos) {
	first := map[int]*model.Ring{}
	firstPos := map[int]diag.Pos{}
	for i, r := range rings {
		pos := orderPos[i][r.Name]
		if other, dup := first[r.Order]; dup {
			l.Add(diag.Diagnostic{Pos: pos, Path: joinPath(joinPath("rings", r.Name), "order"),
				Code:    "duplicate-ring-order",
				Message: fmt.Sprintf("ring %q has order %d, like ring %q", r.Name, r.Order, other.Name),
				Related: []diag.Pos{firstPos[r.Order]}})
			continue
		}
		first[r.Order], firstPos[r.Order] = r, pos
	}
}

// checkAgentKeys reports a store agent public key another store already
// declares: the collector would take either store's reports for the other.
// checkAgentApps allows one app whose source is the agent: a store runs
// one fleetc-agent (its manifests have fixed names).
func checkAgentApps(l *diag.List, f *model.Fleet) {
	var first *model.App
	for _, a := range f.Apps {
		if a.Source.Agent == nil {
			continue
		}
		if len(a.Values) > 0 || len(a.Overrides) > 0 {
			l.Add(diag.Diagnostic{Pos: a.Pos, Path: joinPath(joinPath("apps", a.ID), "values"), Code: "agent-app-values",
				Message: fmt.Sprintf("app %q is fleetc-agent (source agent): it takes no values or overrides; its settings are source.agent.image and .collector", a.ID)})
		}
		if first == nil {
			first = a
			continue
		}
		l.Add(diag.Diagnostic{Pos: a.Pos, Path: joinPath(joinPath("apps", a.ID), "source"), Code: "second-agent-app",
			Message: fmt.Sprintf("app %q is fleetc-agent too (source agent), but %q already is; a store runs one agent", a.ID, first.ID),
			Related: []diag.Pos{first.Pos}})
	}
}

// checkGateName reserves the window gate's name for it.
func checkGateName(l *diag.List, f *model.Fleet) {
	if !f.Settings.Agent.EnforceWindows {
		return
	}
	for _, a := range f.Apps {
		if a.ID == window.GateName {
			l.Add(diag.Diagnostic{Pos: a.Pos, Path: joinPath("apps", a.ID), Code: "reserved-app-id",
				Message: fmt.Sprintf("app %q has the name of the store's window gate (settings.agent.enforceWindows); rename the app", a.ID)})
		}
	}
}

func checkAgentKeys(l *diag.List, stores []*model.Store) {
	first := map[string]*model.Store{}
	for _, st := range stores {
		if st.Agent == nil {
			continue
		}
		if other, dup := first[st.Agent.PublicKey]; dup {
			l.Add(diag.Diagnostic{Pos: st.Pos, Path: joinPath(joinPath(joinPath("stores", st.ID), "agent"), "publicKey"),
				Code:    "duplicate-agent-key",
				Message: fmt.Sprintf("store %q declares the agent public key of store %q; each store's agent makes its own key (fleetc-agent pubkey)", st.ID, other.ID),
				Related: []diag.Pos{other.Pos}})
			continue
		}
		first[st.Agent.PublicKey] = st
	}
}

// checkRefs reports references to ids nobody declares. Entities that were
// declared but failed validation count as declared: their own errors are
// reported already; so do stores declared elsewhere (see merge).
func checkRefs(l *diag.List, f *model.Fleet, invalid map[entityKey]bool, elsewhere func(id string) bool) {
	freezes := make(map[string]bool, len(f.Freezes))
	for _, fr := range f.Freezes {
		freezes[fr.Name] = true
	}
	known := func(r model.Ref) bool {
		if invalid[entityKey{r.Kind, r.Name}] {
			return true
		}
		switch r.Kind {
		case model.RefStore:
			return f.StoreByID[r.Name] != nil || elsewhere != nil && elsewhere(r.Name)
		case model.RefGroup:
			return f.GroupByID[r.Name] != nil
		case model.RefApp:
			return f.AppByID[r.Name] != nil
		case model.RefRing:
			return f.RingByID[r.Name] != nil
		case model.RefTeam:
			return f.TeamByID[r.Name] != nil
		case model.RefFreeze:
			return freezes[r.Name]
		}
		return false
	}
	check := func(refs []model.Ref) {
		for _, r := range refs {
			if !known(r) {
				l.Errorf(r.Pos, r.Path, "unknown-"+string(r.Kind), "unknown %s %q", r.Kind, r.Name)
			}
		}
	}
	eachRefs(f.Stores, f.Groups, f.Apps, f.Rings, f.Freezes, f.Overrides, f.Halts, check)
}

// eachRefs calls fn with the references of every entity that has any.
func eachRefs(stores []*model.Store, groups []*model.Group, apps []*model.App, rings []*model.Ring,
	freezes []*model.Freeze, overrides []*model.Override, halts []*model.Halt, fn func([]model.Ref)) {
	for _, x := range stores {
		fn(x.Refs)
	}
	for _, x := range groups {
		fn(x.Refs)
	}
	for _, x := range apps {
		fn(x.Refs)
	}
	for _, x := range rings {
		fn(x.Refs)
	}
	for _, x := range freezes {
		fn(x.Refs)
	}
	for _, x := range overrides {
		fn(x.Refs)
	}
	for _, x := range halts {
		fn(x.Refs)
	}
}

// checkCycles reports each strongly connected set of apps in dependsOn
// once, as the shortest cycle through its smallest app id.
func checkCycles(l *diag.List, f *model.Fleet) {
	// Tarjan's algorithm over apps in id order; apps are few.
	index := map[string]int{}
	low := map[string]int{}
	onStack := map[string]bool{}
	var stack []string
	var sccs [][]string
	var visit func(id string)
	visit = func(id string) {
		index[id], low[id] = len(index), len(index)
		stack = append(stack, id)
		onStack[id] = true
		for _, dep := range f.AppByID[id].DependsOn {
			if f.AppByID[dep] == nil {
				continue
			}
			if _, seen := index[dep]; !seen {
				visit(dep)
				low[id] = min(low[id], low[dep])
			} else if onStack[dep] {
				low[id] = min(low[id], index[dep])
			}
		}
		if low[id] == index[id] {
			var scc []string
			for {
				top := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				onStack[top] = false
				scc = append(scc, top)
				if top == id {
					break
				}
			}
			sccs = append(sccs, scc)
		}
	}
	for _, a := range f.Apps {
		if _, seen := index[a.ID]; !seen {
			visit(a.ID)
		}
	}
	for _, scc := range sccs {
		slices.Sort(scc)
		start := f.AppByID[scc[0]]
		if len(scc) == 1 && !slices.Contains(start.DependsOn, start.ID) {
			continue
		}
		cycle := shortestCycle(f, start.ID, scc)
		ref := dependsOnRef(start, cycle[1])
		l.Errorf(ref.Pos, ref.Path, "dependency-cycle", "dependency cycle: %s", strings.Join(cycle, " -> "))
	}
}

// shortestCycle finds, by breadth-first search inside the component, the
// shortest path from start back to itself, e.g. [a b a].
func shortestCycle(f *model.Fleet, start string, scc []string) []string {
	in := map[string]bool{}
	for _, id := range scc {
		in[id] = true
	}
	prev := map[string]string{}
	queue := []string{start}
	for len(queue) > 0 {
		id := queue[0]
		queue = queue[1:]
		for _, dep := range f.AppByID[id].DependsOn {
			if !in[dep] {
				continue
			}
			if dep == start {
				path := []string{start}
				for at := id; at != start; at = prev[at] {
					path = append(path, at)
				}
				path = append(path, start)
				slices.Reverse(path[1 : len(path)-1])
				return path
			}
			if _, seen := prev[dep]; !seen {
				prev[dep] = id
				queue = append(queue, dep)
			}
		}
	}
	return []string{start, start} // unreachable for a real cycle
}

// dependsOnRef is the reference from app to dep, where the cycle is
// reported.
func dependsOnRef(a *model.App, dep string) model.Ref {
	for _, r := range a.Refs {
		if r.Kind == model.RefApp && r.Name == dep && strings.Contains(r.Path, ".dependsOn[") {
			return r
		}
	}
	return model.Ref{Pos: a.Pos, Path: joinPath("apps", a.ID)}
}
