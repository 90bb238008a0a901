package codeowners

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/diag"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

func team(name string, line int, members []string, owns ...string) *model.Team {
	return &model.Team{Name: name, Members: members, Owns: owns, Pos: diag.Pos{File: "rings/calendar.cue", Line: line, Col: 2}}
}

func TestRules(t *testing.T) {
	tests := []struct {
		name  string
		teams []*model.Team
		want  []Rule
		diags []string
	}{
		{
			name: "sorted by path so directories precede their files",
			teams: []*model.Team{
				team("platform", 10, []string{"mkowalski", "jtanaka"}, "schemas/", "inventory/", "fleet.cue"),
				team("franchise-relations", 20, []string{"tmorales"}, "inventory/groups/franchisees.cue"),
			},
			want: []Rule{
				{Pattern: "/fleet.cue", Owners: []string{"@mkowalski", "@jtanaka"}, Teams: []string{"platform"}},
				{Pattern: "/inventory/", Owners: []string{"@mkowalski", "@jtanaka"}, Teams: []string{"platform"}},
				{Pattern: "/inventory/groups/franchisees.cue", Owners: []string{"@tmorales"}, Teams: []string{"franchise-relations"}},
				{Pattern: "/schemas/", Owners: []string{"@mkowalski", "@jtanaka"}, Teams: []string{"platform"}},
			},
		},
		{
			name: "teams sharing a path share a line, owners once in team-name order",
			teams: []*model.Team{
				team("ops", 10, []string{"dokafor", "shared"}, "rings/calendar.cue"),
				team("legal", 20, []string{"hweiss", "shared"}, "./rings/calendar.cue"),
			},
			want: []Rule{
				{Pattern: "/rings/calendar.cue", Owners: []string{"@hweiss", "@shared", "@dokafor"}, Teams: []string{"legal", "ops"}},
			},
		},
		{
			name: "forge teams, e-mail addresses and leading slashes",
			teams: []*model.Team{
				team("legal", 5, []string{"copperleaf/legal", "@pchen", "counsel@example.com"}, "/policies/legal/", "policies/**/*_test.rego"),
			},
			want: []Rule{
				{Pattern: "/policies/**/*_test.rego", Owners: []string{"@copperleaf/legal", "@pchen", "counsel@example.com"}, Teams: []string{"legal"}},
				{Pattern: "/policies/legal/", Owners: []string{"@copperleaf/legal", "@pchen", "counsel@example.com"}, Teams: []string{"legal"}},
			},
		},
		{
			name:  "teams without owns paths write nothing",
			teams: []*model.Team{team("ops", 3, []string{"dokafor"})},
			want:  []Rule{},
		},
		{
			name: "bad paths and members are errors at the team",
			teams: []*model.Team{
				team("ops", 7, []string{"dokafor"}, "../outside", "rings/a b.cue", "ok/"),
				team("legal", 3, []string{"bad user"}, "policies/legal/"),
			},
			want: []Rule{{Pattern: "/ok/", Owners: []string{"@dokafor"}, Teams: []string{"ops"}}},
			diags: []string{
				`rings/calendar.cue:3:2: teams.legal.members[0]: member "bad user" is not a forge user, org/team or e-mail address`,
				`rings/calendar.cue:7:2: teams.ops.owns[0]: owned path "../outside" has a ".." segment; write it relative to the repository root`,
				`rings/calendar.cue:7:2: teams.ops.owns[1]: owned path "rings/a b.cue" has whitespace or a backslash, which CODEOWNERS cannot express`,
			},
		},
		{
			name:  "a team without members warns",
			teams: []*model.Team{team("franchise-relations", 9, nil, "inventory/groups/")},
			want:  []Rule{{Pattern: "/inventory/groups/", Teams: []string{"franchise-relations"}}},
			diags: []string{
				`rings/calendar.cue:9:2: teams."franchise-relations".members: team "franchise-relations" owns paths but has no members: its CODEOWNERS lines name no owner, so nobody's review is required there`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, diags := Rules(tt.teams, "")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("rules:\ngot  %+v\nwant %+v", got, tt.want)
			}
			var ds []string
			for _, d := range diags {
				ds = append(ds, d.String())
			}
			if !reflect.DeepEqual(ds, tt.diags) {
				t.Errorf("diagnostics:\ngot  %q\nwant %q", ds, tt.diags)
			}
		})
	}
}

func TestRulesMissingPaths(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "inventory"), 0o755); err != nil {
		t.Fatal(err)
	}
	teams := []*model.Team{team("platform", 4, []string{"mkowalski"}, "inventory/", "schemas/", "apps/*.cue")}
	rules, diags := Rules(teams, root)
	if len(rules) != 3 {
		t.Errorf("got %d rules, want 3: a missing path is still written", len(rules))
	}
	want := `rings/calendar.cue:4:2: teams.platform.owns[1]: "schemas/" does not exist in the repository`
	if len(diags) != 1 || diags[0].String() != want || diags[0].Severity != diag.Warning {
		t.Errorf("diagnostics = %v, want one warning %q (wildcards are not checked)", diags, want)
	}
}

func TestRender(t *testing.T) {
	got := string(Render([]Rule{
		{Pattern: "/inventory/", Owners: []string{"@a", "@b"}},
		{Pattern: "/unowned/"},
	}))
	want := Header + "\n/inventory/ @a @b\n/unowned/\n"
	if got != want {
		t.Errorf("Render:\n%s\nwant:\n%s", got, want)
	}
	for _, line := range strings.Split(strings.TrimSuffix(Header, "\n"), "\n") {
		if !strings.HasPrefix(line, "# ") {
			t.Errorf("header line %q is not a comment", line)
		}
	}
}

func TestGenerateDeterministic(t *testing.T) {
	a := []*model.Team{
		team("ops", 1, []string{"x"}, "b/", "a/"),
		team("legal", 2, []string{"y"}, "a/"),
	}
	b := []*model.Team{a[1], a[0]}
	ga, _, _ := Generate(&model.Fleet{Teams: a}, "")
	gb, _, _ := Generate(&model.Fleet{Teams: b}, "")
	if string(ga) != string(gb) {
		t.Errorf("output depends on team order:\n%s\n---\n%s", ga, gb)
	}
	if !strings.HasSuffix(string(ga), "\n/a/ @y @x\n/b/ @x\n") {
		t.Errorf("unexpected output:\n%s", ga)
	}
}
