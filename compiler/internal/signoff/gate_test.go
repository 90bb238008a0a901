package signoff

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/gate"
	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/compiler/internal/policy"
)

const sampleDecisions = `{"store":"qc-laval-0210","app":"pos","ring":"pilot","kind":"install","to":"0.9.3","verdict":"needs-signoff","reasons":[{"rule":"signoff.signoff_new_jurisdiction","verdict":"needs-signoff","msg":"m","teams":["legal"]},{"rule":"signoff.signoff_ring_entry","verdict":"needs-signoff","msg":"m","teams":["franchise-relations"]}],"teams":["franchise-relations","legal"]}
{"store":"us-il-chicago-0101","app":"menu-boards","verdict":"needs-signoff","teams":["ops"]}
{"store":"us-il-chicago-0102","app":"menu-boards","verdict":"needs-signoff","reasons":[{"verdict":"needs-signoff","teams":["ops"]},{"verdict":"defer","teams":["platform"]}]}

{"store":"us-tx-austin-0001","app":"drive-thru-vision","verdict":"deny","reasons":[{"rule":"legal.deny_bipa","verdict":"deny"}]}
{"store":"us-tx-austin-0002","app":"pos","verdict":"defer"}
`

// sampleGrouped is sampleDecisions as the grouped format writes them,
// with more stores per line.
const sampleGrouped = `{"stores":["qc-laval-0210","qc-laval-0211"],"app":"pos","ring":"pilot","kind":"install","to":"0.9.3","verdict":"needs-signoff","reasons":[{"rule":"signoff.signoff_new_jurisdiction","verdict":"needs-signoff","msg":"m","teams":["legal"]},{"rule":"signoff.signoff_ring_entry","verdict":"needs-signoff","msg":"m","teams":["franchise-relations"]}],"teams":["franchise-relations","legal"]}
{"stores":["us-il-chicago-0101"],"app":"menu-boards","verdict":"needs-signoff","teams":["ops"]}
{"stores":["us-il-chicago-0102","us-il-chicago-0103"],"app":"menu-boards","verdict":"needs-signoff","reasons":[{"verdict":"needs-signoff","teams":["ops"]},{"verdict":"defer","teams":["platform"]}]}

{"stores":["us-tx-austin-0001"],"app":"drive-thru-vision","verdict":"deny","reasons":[{"rule":"legal.deny_bipa","verdict":"deny"}]}
{"stores":["us-tx-austin-0002","us-tx-austin-0003","us-tx-austin-0004"],"app":"pos","verdict":"defer"}
`

func TestReadDecisions(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want *Requirements
		err  string
	}{
		{
			name: "sample", in: sampleDecisions,
			want: &Requirements{Decisions: 5, ByVerdict: map[string]int{"needs-signoff": 3, "deny": 1, "defer": 1},
				Teams: map[string]int{"franchise-relations": 1, "legal": 1, "ops": 2}},
		},
		{
			name: "grouped", in: sampleGrouped,
			want: &Requirements{Decisions: 9, ByVerdict: map[string]int{"needs-signoff": 5, "deny": 1, "defer": 3},
				Teams: map[string]int{"franchise-relations": 2, "legal": 2, "ops": 3}},
		},
		{
			name: "grouped and older lines mixed", in: sampleGrouped + sampleDecisions,
			want: &Requirements{Decisions: 14, ByVerdict: map[string]int{"needs-signoff": 8, "deny": 2, "defer": 4},
				Teams: map[string]int{"franchise-relations": 3, "legal": 3, "ops": 5}},
		},
		{
			name: "a team listed twice counts once", in: `{"stores":["s1","s2"],"verdict":"needs-signoff","teams":["ops","ops"]}`,
			want: &Requirements{Decisions: 2, ByVerdict: map[string]int{"needs-signoff": 2}, Teams: map[string]int{"ops": 2}},
		},
		{name: "empty", in: "", want: &Requirements{ByVerdict: map[string]int{}, Teams: map[string]int{}}},
		{name: "empty stores", in: "{\"stores\":[],\"verdict\":\"allow\"}\n", err: `decisions line 1: empty "stores"`},
		{name: "store and stores", in: "\n{\"store\":\"s\",\"stores\":[\"s\"],\"verdict\":\"allow\"}\n", err: `decisions line 2: both "store" and "stores"`},
		{name: "stores not a list", in: "{\"stores\":\"s\",\"verdict\":\"allow\"}\n", err: "decisions line 1: json: cannot unmarshal string into Go struct field jsonlLine.stores of type []string"},
		{name: "bad json", in: "{\"verdict\":\"deny\"}\n{\"verdict\":", err: "decisions line 2: unexpected end of JSON input"},
		{name: "no verdict", in: "{\"store\":\"s\"}\n", err: "decisions line 1: no verdict"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadDecisions(strings.NewReader(tt.in))
			if tt.err != "" {
				if err == nil || err.Error() != tt.err {
					t.Fatalf("err = %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func FuzzReadDecisions(f *testing.F) {
	f.Add(sampleDecisions)
	f.Add(sampleGrouped)
	f.Add("{\"stores\":[\"a\",\"b\"],\"verdict\":\"needs-signoff\",\"teams\":[\"ops\",\"ops\"]}\n{\"stores\":[]}\n")
	f.Add("{\"verdict\":\"needs-signoff\",\"teams\":[\"\",\"ops\"]}\n")
	f.Fuzz(func(t *testing.T, in string) {
		req, err := ReadDecisions(strings.NewReader(in))
		if err != nil {
			return
		}
		sum := 0
		for _, n := range req.ByVerdict {
			sum += n
		}
		if sum != req.Decisions {
			t.Fatalf("verdict counts %v do not add up to %d", req.ByVerdict, req.Decisions)
		}
		for team, n := range req.Teams {
			if team == "" || n < 1 || n > req.ByVerdict["needs-signoff"] {
				t.Fatalf("team %q counted %d times with %d needs-signoff decisions", team, n, req.ByVerdict["needs-signoff"])
			}
		}
	})
}

var fleetTeams = []*model.Team{
	{Name: "franchise-relations", Members: []string{"tmorales", "egagnon"}},
	{Name: "legal", Members: []string{"hweiss", "pchen"}},
	{Name: "ops", Members: []string{"dokafor", "lnguyen", "hweiss"}},
	{Name: "platform", Members: []string{"mkowalski"}},
}

func TestEvaluate(t *testing.T) {
	req := &Requirements{Teams: map[string]int{"legal": 3, "ops": 1}}
	tests := []struct {
		name      string
		approvals []forge.Approval
		approved  map[string][]string
		missing   []string
		ignored   []Ignored
	}{
		{name: "no reviews", missing: []string{"legal", "ops"}},
		{
			name:      "outsider and other team do not count",
			approvals: []forge.Approval{{User: "eve", Commit: "h2", State: "approved"}, {User: "mkowalski", Commit: "h2", State: "approved"}},
			missing:   []string{"legal", "ops"},
			ignored: []Ignored{
				{User: "eve", State: "approved", Commit: "h2", Reason: "not a member of a team whose sign-off is required"},
				{User: "mkowalski", State: "approved", Commit: "h2", Reason: "not a member of a team whose sign-off is required"},
			},
		},
		{
			name:      "approval of an older head does not count",
			approvals: []forge.Approval{{User: "pchen", Commit: "h1aaaaaaaaaaaa", State: "approved"}, {User: "dokafor", Commit: "h2", State: "approved"}},
			approved:  map[string][]string{"ops": {"dokafor"}},
			missing:   []string{"legal"},
			ignored:   []Ignored{{User: "pchen", State: "approved", Commit: "h1aaaaaaaaaaaa", Reason: "approved an older commit h1aaaaaaaa"}},
		},
		{
			name:      "changes requested and unknown commit do not count",
			approvals: []forge.Approval{{User: "pchen", Commit: "h2", State: "changes_requested"}, {User: "lnguyen", State: "approved"}},
			missing:   []string{"legal", "ops"},
			ignored: []Ignored{
				{User: "lnguyen", State: "approved", Reason: "the forge does not say which commit was approved"},
				{User: "pchen", State: "changes_requested", Commit: "h2", Reason: "not an approval"},
			},
		},
		{
			name:      "one member of two teams signs for both",
			approvals: []forge.Approval{{User: "hweiss", Commit: "h2", State: "approved"}, {User: "tmorales", Commit: "h2", State: "approved"}},
			approved:  map[string][]string{"legal": {"hweiss"}, "ops": {"hweiss"}},
			missing:   []string{},
			ignored:   []Ignored{{User: "tmorales", State: "approved", Commit: "h2", Reason: "not a member of a team whose sign-off is required"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := Evaluate("h2", req, tt.approvals, fleetTeams)
			want := &Verdict{Head: "h2", Required: []string{"legal", "ops"}, Approved: tt.approved, Missing: tt.missing, Ignored: tt.ignored}
			if want.Missing == nil {
				want.Missing = []string{}
			}
			if !reflect.DeepEqual(v, want) {
				t.Fatalf("got %+v\nwant %+v", v, want)
			}
			if v.Green() != (len(tt.missing) == 0) {
				t.Fatalf("Green() = %v", v.Green())
			}
		})
	}
}

func TestStatuses(t *testing.T) {
	req := &Requirements{Decisions: 984, ByVerdict: map[string]int{"needs-signoff": 720, "deny": 8, "defer": 256}, Teams: map[string]int{"legal": 1, "ops": 1}}
	many := &Verdict{Required: nil, Missing: nil}
	for i := range 30 {
		many.Required = append(many.Required, "team-with-a-long-name-"+string(rune('a'+i%26)))
	}
	many.Missing = many.Required
	tests := []struct {
		name    string
		v       *Verdict
		signoff forge.Status
	}{
		{name: "missing", v: &Verdict{Required: []string{"legal", "ops"}, Missing: []string{"legal", "ops"}},
			signoff: forge.Status{Context: "fleetc/signoff", State: forge.Failure, Description: "needs sign-off from legal, ops", TargetURL: "https://ci/1"}},
		{name: "green", v: &Verdict{Required: []string{"legal", "ops"}, Approved: map[string][]string{"legal": {"hweiss"}, "ops": {"dokafor", "hweiss"}}, Missing: []string{}},
			signoff: forge.Status{Context: "fleetc/signoff", State: forge.Success, Description: "signed off: legal (hweiss), ops (dokafor, hweiss)", TargetURL: "https://ci/1"}},
		{name: "none needed", v: &Verdict{Missing: []string{}},
			signoff: forge.Status{Context: "fleetc/signoff", State: forge.Success, Description: "no sign-off needed", TargetURL: "https://ci/1"}},
		{name: "many teams cut", v: many,
			signoff: forge.Status{Context: "fleetc/signoff", State: forge.Failure, Description: "needs sign-off from team-with-a-long-name-a, team-with-a-long-name-b, team-with-a-long-name-c, team-with-a-long-name-d, +26 more", TargetURL: "https://ci/1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Statuses(req, tt.v, "https://ci/1")
			want := []forge.Status{
				{Context: "fleetc/policy", State: forge.Success, Description: "compiled: 984 decisions (720 needs-signoff, 8 deny, 256 defer)", TargetURL: "https://ci/1"},
				tt.signoff,
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("got %+v\nwant %+v", got, want)
			}
			for _, st := range got {
				if len([]rune(st.Description)) > 140 {
					t.Fatalf("%s description is %d runes", st.Context, len([]rune(st.Description)))
				}
			}
		})
	}
}

// The grouped file the compiler writes and the line-per-decision file of
// older fleetc ask for the same: counts are of pairs either way.
func TestReadDecisionsBothFormats(t *testing.T) {
	signoff := []policy.Reason{{Rule: "signoff.ring_entry", Verdict: policy.NeedsSignoff, Msg: "m", Teams: []string{"ops"}}}
	var ds []gate.Decision
	for i := range 7 {
		store := fmt.Sprintf("s-%d", i)
		ds = append(ds,
			gate.Decision{Store: store, App: "kds", Ring: "main", Kind: policy.Install, To: "1.0.0", Verdict: policy.Allow, Runs: "1.0.0"},
			gate.Decision{Store: store, App: "pos", Ring: "main", Kind: policy.Install, To: "2.0.0", Verdict: policy.NeedsSignoff,
				Rules: []string{"signoff.ring_entry"}, Reasons: signoff, Teams: []string{"ops"}})
		if i%3 == 0 {
			ds[len(ds)-1].Teams = []string{"legal", "ops"}
		}
	}
	var old bytes.Buffer
	enc := json.NewEncoder(&old)
	for i := range ds {
		if err := enc.Encode(&ds[i]); err != nil {
			t.Fatal(err)
		}
	}
	grouped := gate.AppendJSONL(nil, ds)
	if n := bytes.Count(grouped, []byte("\n")); n != 3 {
		t.Fatalf("grouped into %d lines, want 3:\n%s", n, grouped)
	}
	want := &Requirements{Decisions: 14, ByVerdict: map[string]int{"allow": 7, "needs-signoff": 7}, Teams: map[string]int{"legal": 3, "ops": 7}}
	for name, in := range map[string][]byte{"grouped": grouped, "one store a line": old.Bytes()} {
		got, err := ReadDecisions(bytes.NewReader(in))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s: got %+v\nwant %+v", name, got, want)
		}
	}
}
