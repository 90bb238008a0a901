package policy

import (
	"context"
	"strings"
	"testing"
)

func TestRunTestsBundled(t *testing.T) {
	rep, diags, err := RunTests(context.Background(), "", "")
	if err != nil {
		t.Fatal(err)
	}
	if len(diags) != 0 || rep.Failed != 0 || rep.Errored != 0 || rep.Passed < 35 || !rep.Embedded {
		t.Fatalf("report %+v, diags %v", rep, diags)
	}
	rep, _, err = RunTests(context.Background(), "", "bipa")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 5 || len(rep.Results) != 5 {
		t.Errorf("filter bipa ran %d tests, want 5", len(rep.Results))
	}
}

func TestRunTestsFailures(t *testing.T) {
	root := writeRoot(t, map[string]string{
		"policies/p.rego": `package fleetc.p

deny_x contains "x" if input.app.id == "x"
`,
		"policies/p_test.rego": `package fleetc.p_test

import data.fleetc.p

test_denies_x if {
	count(p.deny_x) == 1 with input as {"app": {"id": "x"}}
}

test_wrong if {
	count(p.deny_x) == 2 with input as {"app": {"id": "x"}}
}

test_errors if {
	to_number("nope") == 1
}
`,
	})
	rep, diags, err := RunTests(context.Background(), root, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Passed != 1 || rep.Failed != 1 || rep.Errored != 1 || rep.Embedded {
		t.Errorf("report %+v", rep)
	}
	var got []string
	for _, d := range diags {
		got = append(got, d.Pos.String()+" "+d.Code)
	}
	want := "policies/p_test.rego:10:2 policy-test|policies/p_test.rego:14:2 policy-test"
	if strings.Join(got, "|") != want {
		t.Errorf("diagnostics %q, want %q\n%v", strings.Join(got, "|"), want, diags)
	}
	if !strings.Contains(diags[0].Message, "test_wrong failed at count(p.deny_x) == 2") {
		t.Errorf("failure message %q", diags[0].Message)
	}
}

func TestRunTestsCompileError(t *testing.T) {
	root := writeRoot(t, map[string]string{
		"policies/p_test.rego": "package fleetc.p_test\n\ntest_net if http.send({}).status_code == 200\n",
	})
	rep, diags, err := RunTests(context.Background(), root, "")
	if err != nil {
		t.Fatal(err)
	}
	if rep != nil || len(diags) != 1 || diags[0].Pos.String() != "policies/p_test.rego:3:13" || diags[0].Code != "policy-sandbox" {
		t.Errorf("report %+v diags %v", rep, diags)
	}
}
