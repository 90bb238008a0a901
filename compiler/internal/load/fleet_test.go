package load

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

func pos(file string, line, col int) diag.Pos { return diag.Pos{File: file, Line: line, Col: col} }

func ref(kind model.RefKind, name, path string, p diag.Pos) model.Ref {
	return model.Ref{Kind: kind, Name: name, Path: path, Pos: p}
}

// TestValidFleet checks what the valid fixture decodes to: values, schema
// defaults, entity positions and every reference with its position.
func TestValidFleet(t *testing.T) {
	_, f, diags := loadArchive(t, "testdata/valid.txtar")
	if len(diags) != 0 {
		t.Fatalf("unexpected diagnostics:\n%s", render(diags))
	}
	counts := []int{len(f.Stores), len(f.Groups), len(f.Apps), len(f.Rings), len(f.Freezes), len(f.Overrides), len(f.Teams)}
	if want := []int{2, 2, 2, 2, 1, 1, 1}; !slices.Equal(counts, want) {
		t.Fatalf("counts = %v, want %v", counts, want)
	}
	wantSettings := model.Settings{DeployRepoSource: "deploy", Window: model.WindowDefaults{
		AfterClose: model.Duration(45 * time.Minute), BeforeOpen: model.Duration(60 * time.Minute)},
		Rollout: model.RolloutSettings{StaleAfter: model.Duration(30 * time.Minute), MinCoverage: 0.8},
		Guard:   model.GuardSettings{MassChange: model.MassChangeSettings{Share: 0.05, Floor: 10, Signoff: []string{"platform"}}, HaltLiftSignoff: []string{"ops"}}}
	if !reflect.DeepEqual(f.Settings, wantSettings) {
		t.Errorf("settings = %+v, want %+v", f.Settings, wantSettings)
	}

	s1 := f.StoreByID["nyc-0001"]
	if s1 == nil {
		t.Fatal("nyc-0001 missing from StoreByID")
	}
	if s1.Name != "NYC ONE" || s1.Pos != pos("inventory/us/ny.cue", 17, 2) {
		t.Errorf("nyc-0001 name %q pos %v", s1.Name, s1.Pos)
	}
	wantAttrs := model.Attributes{Owner: "corporate", Format: "standard", DriveThruLanes: 2,
		Devices: []string{"acme3000"}, DeliveryPartners: []string{}, Languages: []string{"en"}, Labels: map[string]string{}}
	if !reflect.DeepEqual(s1.Attributes, wantAttrs) {
		t.Errorf("nyc-0001 attributes = %+v, want %+v", s1.Attributes, wantAttrs)
	}
	if s1.Cluster.Nodes != 2 || s1.Hours["sat"] != (model.DayHours{Open: "08:00", Close: "01:00"}) || len(s1.Refs) != 0 {
		t.Errorf("nyc-0001 cluster %+v hours %+v refs %v", s1.Cluster, s1.Hours, s1.Refs)
	}
	s2 := f.StoreByID["nyc-0002"]
	if s2.Cluster.Nodes != 1 || s2.Attributes.Franchisee != "acme-foods" {
		t.Errorf("nyc-0002 cluster %+v attributes %+v", s2.Cluster, s2.Attributes)
	}
	if got := s2.Values["pos"]["big"]; got != json.Number("9007199254740993") {
		t.Errorf("nyc-0002 values.pos.big = %#v, want json.Number keeping every digit", got)
	}
	wantRefs := map[string][]model.Ref{
		"store nyc-0002": {ref(model.RefApp, "pos", `stores."nyc-0002".values.pos`, pos("inventory/us/ny.cue", 34, 11))},
		"group ny-franchise": {
			ref(model.RefStore, "nyc-0002", `groups."ny-franchise".stores[0]`, pos("inventory/groups.cue", 3, 11)),
			ref(model.RefGroup, "ny", `groups."ny-franchise".selector.terms[0].match[0].values[0]`, pos("inventory/groups.cue", 4, 69)),
		},
		"app pos": {
			ref(model.RefGroup, "ny", "apps.pos.overrides[0].group", pos("apps/pos.cue", 6, 22)),
			ref(model.RefApp, "kds", "apps.pos.dependsOn[0]", pos("apps/pos.cue", 7, 14)),
			ref(model.RefRing, "canary", "apps.pos.versions.canary", pos("apps/pos.cue", 4, 12)),
		},
		"ring canary": {
			ref(model.RefStore, "nyc-0001", "rings.canary.stores[0]", pos("rings/rings.cue", 3, 11)),
			ref(model.RefTeam, "platform", "rings.canary.signoff[0]", pos("rings/rings.cue", 4, 12)),
		},
		"ring chain": {ref(model.RefGroup, "ny", "rings.chain.groups[0]", pos("rings/rings.cue", 9, 11))},
		"freeze holidays": {
			ref(model.RefApp, "pos", "freezes.holidays.apps[0]", pos("rings/rings.cue", 15, 9)),
			ref(model.RefTeam, "platform", "freezes.holidays.signoff[0]", pos("rings/rings.cue", 16, 12)),
		},
		"override chg-1": {
			ref(model.RefFreeze, "holidays", `overrides."chg-1".freeze`, pos("rings/rings.cue", 20, 10)),
			ref(model.RefApp, "pos", `overrides."chg-1".apps[0]`, pos("rings/rings.cue", 21, 9)),
		},
	}
	pos2 := f.AppByID["pos"]
	gotRefs := map[string][]model.Ref{
		"store nyc-0002":     s2.Refs,
		"group ny-franchise": f.GroupByID["ny-franchise"].Refs,
		"app pos":            pos2.Refs,
		"ring canary":        f.RingByID["canary"].Refs,
		"ring chain":         f.RingByID["chain"].Refs,
		"freeze holidays":    f.Freezes[0].Refs,
		"override chg-1":     f.Overrides[0].Refs,
	}
	for name, want := range wantRefs {
		if !reflect.DeepEqual(gotRefs[name], want) {
			t.Errorf("%s refs:\n got %+v\nwant %+v", name, gotRefs[name], want)
		}
	}

	entityPos := map[string][2]diag.Pos{
		"group ny":       {f.GroupByID["ny"].Pos, pos("inventory/groups.cue", 6, 9)},
		"app pos":        {pos2.Pos, pos("apps/pos.cue", 1, 7)},
		"app kds":        {f.AppByID["kds"].Pos, pos("apps/pos.cue", 9, 7)},
		"override":       {pos2.Overrides[0].Pos, pos("apps/pos.cue", 6, 14)},
		"ring canary":    {f.RingByID["canary"].Pos, pos("rings/rings.cue", 1, 8)},
		"freeze":         {f.Freezes[0].Pos, pos("rings/rings.cue", 11, 10)},
		"override chg-1": {f.Overrides[0].Pos, pos("rings/rings.cue", 18, 12)},
		"team":           {f.Teams[0].Pos, pos("rings/rings.cue", 25, 8)},
	}
	for name, p := range entityPos {
		if p[0] != p[1] {
			t.Errorf("%s pos = %v, want %v", name, p[0], p[1])
		}
	}

	if pos2.Namespace != "pos" || pos2.Values["replicas"] != json.Number("1") || pos2.Versions["canary"] != "2.4.0-rc.1" {
		t.Errorf("app pos = %+v", pos2)
	}
	kds := f.AppByID["kds"]
	if kds.Namespace != "kitchen" || kds.Source.Kustomize == nil || kds.Source.Kustomize.Path != "./" || kds.Source.Helm != nil {
		t.Errorf("app kds = %+v source %+v", kds, kds.Source)
	}
	canary := f.RingByID["canary"]
	if canary.BakeTime != model.Duration(48*time.Hour) || canary.SuccessThreshold != 0.95 || f.Rings[0] != canary {
		t.Errorf("ring canary = %+v (rings[0] = %s)", canary, f.Rings[0].Name)
	}
	if fr := f.Freezes[0]; !fr.Local || fr.Start != "2026-12-20T00:00" {
		t.Errorf("freeze = %+v", fr)
	}
}

// TestSettingsDefaults: without a settings block the schema's #Settings
// defaults apply, from the embedded schemas or the repository's own.
func TestSettingsDefaults(t *testing.T) {
	tests := []struct {
		name   string
		schema string // replacement for the deployRepoSource default; "" = embedded
		want   string
	}{
		{"embedded", "", "flux-system"},
		{"repository schemas", `*"from-repo" | #ID`, "from-repo"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root := t.TempDir()
			if tt.schema != "" {
				writeSchemas(t, root, `*"flux-system" | #ID`, tt.schema)
			}
			write(t, root, "teams.cue", `teams: a: members: ["x"]`)
			f, diags, err := Load(context.Background(), Options{Root: root})
			if err != nil || len(diags) != 0 {
				t.Fatalf("err %v diags:\n%s", err, render(diags))
			}
			want := model.Settings{DeployRepoSource: tt.want, Window: model.WindowDefaults{
				AfterClose: model.Duration(30 * time.Minute), BeforeOpen: model.Duration(60 * time.Minute)},
				Rollout: model.RolloutSettings{StaleAfter: model.Duration(30 * time.Minute), MinCoverage: 0.8},
				Guard:   model.GuardSettings{MassChange: model.MassChangeSettings{Share: 0.05, Floor: 10, Signoff: []string{"platform"}}, HaltLiftSignoff: []string{"ops"}}}
			if !reflect.DeepEqual(f.Settings, want) {
				t.Errorf("settings = %+v, want %+v", f.Settings, want)
			}
		})
	}
}

// TestRepositorySchemas: the repository's schemas/ module replaces the
// embedded one, and a broken one is reported at its own position.
func TestRepositorySchemas(t *testing.T) {
	root := t.TempDir()
	writeSchemas(t, root, `members: [...string & !=""]`, `lead: string
	members: [...string & !=""]`)
	write(t, "", filepath.Join(root, "rings/teams.cue"), "teams: a: members: [\"x\"]\n")
	_, diags, err := Load(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	want := "schema rings/teams.cue:1:8: teams.a.lead: missing field \"lead\"\n"
	if got := render(diags); got != want {
		t.Errorf("got:\n%swant:\n%s", got, want)
	}

	writeSchemas(t, root, `#ID: =~`, `#ID: (( =~`)
	_, diags, err = Load(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if len(diags) == 0 || diags[0].Code != "schema-invalid" || diags[0].Pos.File != "schemas/fleet.cue" || diags[0].Pos.Line == 0 {
		t.Errorf("broken schemas: got\n%s", render(diags))
	}
}

// writeSchemas copies the embedded schemas into root/schemas with one
// replacement.
func writeSchemas(t *testing.T, root, old, new string) {
	t.Helper()
	src, err := os.ReadFile("../../../schemas/fleet.cue")
	if err != nil {
		t.Fatal(err)
	}
	s := string(src)
	if !containsOnce(s, old) {
		t.Fatalf("schema does not contain %q exactly once", old)
	}
	s = replaceOnce(s, old, new)
	write(t, root, "schemas/cue.mod/module.cue", "module: \"example.com/schemas@v0\"\nlanguage: version: \"v0.12.0\"\n")
	write(t, root, "schemas/fleet.cue", s)
}

func write(t *testing.T, root, rel, content string) {
	t.Helper()
	p := filepath.Join(root, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestFiles(t *testing.T) {
	root := t.TempDir()
	for _, p := range []string{
		"fleet.cue", "other.cue", "inventory/b.cue", "inventory/a/z.cue", "inventory/_skip.cue",
		"inventory/.hidden.cue", "inventory/_drafts/x.cue", "inventory/.git/x.cue", "inventory/cue.mod/x.cue",
		"inventory/notes.txt", "apps/pos.cue", "rings/r.cue", "policies/p.cue",
	} {
		write(t, root, p, "")
	}
	got, err := Files(root)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"apps/pos.cue", "fleet.cue", "inventory/a/z.cue", "inventory/b.cue", "rings/r.cue"}
	if !slices.Equal(got, want) {
		t.Errorf("Files = %q, want %q", got, want)
	}
}

// TestWorkersAndProgress: any number of workers gives the same result and
// progress counts every file once, in order.
func TestWorkersAndProgress(t *testing.T) {
	root := t.TempDir()
	writeStores(t, root, 60, 10)
	var base string
	for _, workers := range []int{1, 3, 0} {
		var seen []int
		f, diags, err := Load(context.Background(), Options{Root: root, Workers: workers,
			Progress: func(done, total int) {
				if total != 6 {
					t.Errorf("total = %d, want 6", total)
				}
				seen = append(seen, done)
			}})
		if err != nil || len(diags) != 0 {
			t.Fatalf("workers %d: err %v diags:\n%s", workers, err, render(diags))
		}
		if !slices.Equal(seen, []int{1, 2, 3, 4, 5, 6}) {
			t.Errorf("workers %d: progress %v", workers, seen)
		}
		b, err := json.Marshal(f.Stores)
		if err != nil {
			t.Fatal(err)
		}
		if base == "" {
			base = string(b)
		} else if string(b) != base {
			t.Errorf("workers %d: stores differ from workers 1", workers)
		}
		if len(f.Stores) != 60 || f.Stores[0].ID != "s-000000" || f.Stores[59].ID != "s-000059" {
			t.Errorf("workers %d: %d stores", workers, len(f.Stores))
		}
	}
}

func TestCancel(t *testing.T) {
	root := t.TempDir()
	writeStores(t, root, 20, 10)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := Load(ctx, Options{Root: root}); !errors.Is(err, context.Canceled) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

func containsOnce(s, sub string) bool {
	i := strings.Index(s, sub)
	return i >= 0 && !strings.Contains(s[i+1:], sub)
}

func replaceOnce(s, old, new string) string {
	i := strings.Index(s, old)
	return s[:i] + new + s[i+len(old):]
}

// TestPartialFleet: entities with errors are left out of the fleet, the
// rest of their files are kept.
func TestPartialFleet(t *testing.T) {
	_, f, diags := loadArchive(t, "testdata/two-files.txtar")
	if diags.Errors() != 6 {
		t.Errorf("got %d errors, want 6:\n%s", diags.Errors(), render(diags))
	}
	var ids []string
	for _, s := range f.Stores {
		ids = append(ids, s.ID)
	}
	if want := []string{"nyc-0001", "nyc-0004"}; !slices.Equal(ids, want) {
		t.Errorf("stores = %q, want %q", ids, want)
	}
	if g := f.GroupByID["g"]; g == nil || len(g.Refs) != 2 {
		t.Errorf("group g = %+v", g)
	}
}
