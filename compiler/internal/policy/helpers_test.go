package policy

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/calendar"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

// writeRoot makes a repository root holding files (path -> content).
func writeRoot(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for p, content := range files {
		full := filepath.Join(root, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func mustLoad(t *testing.T, root string) *Engine {
	t.Helper()
	e, diags, err := Load(context.Background(), Options{Root: root})
	if err != nil {
		t.Fatal(err)
	}
	if diags.HasErrors() || e == nil {
		t.Fatalf("load: %v", diags)
	}
	return e
}

func everyDay(open, close string) map[string]model.DayHours {
	h := map[string]model.DayHours{}
	for _, d := range []string{"mon", "tue", "wed", "thu", "fri", "sat", "sun"} {
		h[d] = model.DayHours{Open: open, Close: close}
	}
	return h
}

var windowDefaults = model.WindowDefaults{
	AfterClose: model.Duration(30 * time.Minute),
	BeforeOpen: model.Duration(60 * time.Minute),
}

func store(id, zone, country, region string, hours map[string]model.DayHours) *model.Store {
	return &model.Store{
		ID: id, Name: "Store " + id, Geo: "us/x", Timezone: zone, Hours: hours,
		Jurisdiction: model.Jurisdiction{Country: country, Region: region, City: "City of " + id},
		Attributes:   model.Attributes{Owner: "corporate", Languages: []string{"en"}},
	}
}

// scenario builds an input the way compile would: the window and the
// freezes from the calendar at now.
type scenario struct {
	store     *model.Store
	app       string
	ring      *model.Ring
	change    Change
	values    map[string]any
	freezes   []*model.Freeze
	overrides []*model.Override
	history   History
}

func (sc scenario) input(t *testing.T, now time.Time) Input {
	t.Helper()
	w, err := calendar.StoreWindow(sc.store, nil, windowDefaults, now)
	if err != nil {
		t.Fatal(err)
	}
	loc, err := time.LoadLocation(sc.store.Timezone)
	if err != nil {
		t.Fatal(err)
	}
	var fs []Freeze
	for _, f := range sc.freezes {
		active, start, end, err := calendar.FreezeActive(f, loc, now)
		if err != nil {
			t.Fatal(err)
		}
		fs = append(fs, Freeze{Freeze: f, Active: active, Start: start, End: end})
	}
	ring := sc.ring
	if ring == nil {
		ring = &model.Ring{Name: "pilot", Order: 2}
	}
	return Input{
		Store:     NewStoreFacts(sc.store, []string{"all"}),
		App:       &model.App{ID: sc.app, Namespace: sc.app},
		Ring:      ring,
		Change:    sc.change,
		Values:    sc.values,
		Window:    w,
		Freezes:   fs,
		Overrides: sc.overrides,
		History:   sc.history,
	}
}
