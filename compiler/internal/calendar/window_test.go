package calendar

import (
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/internal/window"
)

func utc(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func everyDay(open, close string) map[string]model.DayHours {
	h := map[string]model.DayHours{}
	for _, d := range window.Weekdays {
		h[d] = model.DayHours{Open: open, Close: close}
	}
	return h
}

var defaults = model.WindowDefaults{
	AfterClose: model.Duration(30 * time.Minute),
	BeforeOpen: model.Duration(60 * time.Minute),
}

func TestStoreWindow(t *testing.T) {
	std := everyDay("06:00", "22:00")
	noSunday := everyDay("06:00", "22:00")
	delete(noSunday, "sun")
	tests := []struct {
		name   string
		zone   string
		hours  map[string]model.DayHours
		group  *model.GroupWindow
		now    string
		open   bool
		opens  string // "" = zero
		closes string
		source string
	}{
		// 06:00-22:00 daily gives a window 22:30-05:00 local.
		{"inside after midnight", "America/Chicago", std, nil, "2026-06-10T06:00:00Z", true, "2026-06-10T03:30:00Z", "2026-06-10T10:00:00Z", "hours"},
		{"inside before midnight", "America/Chicago", std, nil, "2026-06-10T04:59:00Z", true, "2026-06-10T03:30:00Z", "2026-06-10T10:00:00Z", "hours"},
		{"outside at noon", "America/Chicago", std, nil, "2026-06-10T17:00:00Z", false, "2026-06-11T03:30:00Z", "2026-06-11T10:00:00Z", "hours"},
		{"start is inclusive", "America/Chicago", std, nil, "2026-06-10T03:30:00Z", true, "2026-06-10T03:30:00Z", "2026-06-10T10:00:00Z", "hours"},
		{"one minute before start", "America/Chicago", std, nil, "2026-06-10T03:29:00Z", false, "2026-06-10T03:30:00Z", "2026-06-10T10:00:00Z", "hours"},
		{"end is exclusive", "America/Chicago", std, nil, "2026-06-10T10:00:00Z", false, "2026-06-11T03:30:00Z", "2026-06-11T10:00:00Z", "hours"},
		// Spring forward 2026-03-08: 22:30 CST (-6) to 05:00 CDT (-5).
		{"chicago spring inside", "America/Chicago", std, nil, "2026-03-08T09:59:00Z", true, "2026-03-08T04:30:00Z", "2026-03-08T10:00:00Z", "hours"},
		{"chicago spring closed at 05:00 CDT", "America/Chicago", std, nil, "2026-03-08T10:00:00Z", false, "2026-03-09T03:30:00Z", "2026-03-09T10:00:00Z", "hours"},
		// Fall back 2026-11-01: 22:30 CDT (-5) to 05:00 CST (-6); 04:30 CST is inside.
		{"chicago fall inside at 04:30 CST", "America/Chicago", std, nil, "2026-11-01T10:30:00Z", true, "2026-11-01T03:30:00Z", "2026-11-01T11:00:00Z", "hours"},
		{"chicago fall closed at 05:00 CST", "America/Chicago", std, nil, "2026-11-01T11:00:00Z", false, "2026-11-02T04:30:00Z", "2026-11-02T11:00:00Z", "hours"},
		{"new york spring", "America/New_York", std, nil, "2026-03-08T08:59:00Z", true, "2026-03-08T03:30:00Z", "2026-03-08T09:00:00Z", "hours"},
		{"new york spring closed", "America/New_York", std, nil, "2026-03-08T09:00:00Z", false, "2026-03-09T02:30:00Z", "2026-03-09T09:00:00Z", "hours"},
		{"new york fall", "America/New_York", std, nil, "2026-11-01T09:30:00Z", true, "2026-11-01T02:30:00Z", "2026-11-01T10:00:00Z", "hours"},
		// Phoenix stays at -7 through both change days.
		{"phoenix spring day", "America/Phoenix", std, nil, "2026-03-08T11:59:00Z", true, "2026-03-08T05:30:00Z", "2026-03-08T12:00:00Z", "hours"},
		{"phoenix fall day", "America/Phoenix", std, nil, "2026-11-01T12:00:00Z", false, "2026-11-02T05:30:00Z", "2026-11-02T12:00:00Z", "hours"},
		// Open 10:00-02:00 (closes after midnight): window 02:30-09:00.
		{"close after midnight, still open", "America/Chicago", everyDay("10:00", "02:00"), nil, "2026-06-10T06:00:00Z", false, "2026-06-10T07:30:00Z", "2026-06-10T14:00:00Z", "hours"},
		{"close after midnight, inside", "America/Chicago", everyDay("10:00", "02:00"), nil, "2026-06-10T08:00:00Z", true, "2026-06-10T07:30:00Z", "2026-06-10T14:00:00Z", "hours"},
		// Closed Sunday: Saturday 22:30 to Monday 05:00.
		{"closed day spanned", "America/Chicago", noSunday, nil, "2026-06-14T17:00:00Z", true, "2026-06-14T03:30:00Z", "2026-06-15T10:00:00Z", "hours"},
		// Closing at 02:00 on the spring-forward day is 03:00 CDT; window from 03:30 CDT.
		{"close inside the DST gap", "America/Chicago", everyDay("18:00", "02:00"), nil, "2026-03-08T08:15:00Z", false, "2026-03-08T08:30:00Z", "2026-03-08T22:00:00Z", "hours"},
		{"open around the clock has no window", "America/Chicago", everyDay("00:00", "00:00"), nil, "2026-06-10T06:00:00Z", false, "", "", "hours"},
		{"gap shorter than the margins", "America/Chicago", everyDay("05:00", "04:00"), nil, "2026-06-10T09:30:00Z", false, "", "", "hours"},
		{"no hours is always open", "America/Chicago", nil, nil, "2026-06-10T17:00:00Z", true, "", "", "hours"},
		// Group windows: 23:00-04:00 crosses midnight.
		{"group window inside", "America/Chicago", std, &model.GroupWindow{Days: []string{"mon", "tue", "wed", "thu", "fri"}, Start: "23:00", End: "04:00"}, "2026-06-09T07:00:00Z", true, "2026-06-09T04:00:00Z", "2026-06-09T09:00:00Z", "group"},
		{"group window next saturday", "America/Chicago", std, &model.GroupWindow{Days: []string{"sat"}, Start: "23:00", End: "04:00"}, "2026-06-10T17:00:00Z", false, "2026-06-14T04:00:00Z", "2026-06-14T09:00:00Z", "group"},
		{"group window ignores hours", "America/New_York", everyDay("00:00", "00:00"), &model.GroupWindow{Days: []string{"sun"}, Start: "01:00", End: "05:00"}, "2026-11-01T06:30:00Z", true, "2026-11-01T05:00:00Z", "2026-11-01T10:00:00Z", "group"},
		{"group window adjacent days merge", "UTC", nil, &model.GroupWindow{Days: []string{"mon", "tue"}, Start: "00:00", End: "00:00"}, "2026-06-09T12:00:00Z", true, "2026-06-08T00:00:00Z", "2026-06-10T00:00:00Z", "group"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := &model.Store{ID: "s1", Timezone: tc.zone, Hours: tc.hours}
			w, err := StoreWindow(s, tc.group, defaults, utc(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			var opens, closes string
			if !w.OpensAt.IsZero() {
				opens = w.OpensAt.Format(time.RFC3339)
			}
			if !w.ClosesAt.IsZero() {
				closes = w.ClosesAt.Format(time.RFC3339)
			}
			if w.Open != tc.open || opens != tc.opens || closes != tc.closes || w.Source != tc.source || w.Zone != tc.zone {
				t.Errorf("got open=%v %s..%s source=%s zone=%s; want open=%v %s..%s source=%s zone=%s",
					w.Open, opens, closes, w.Source, w.Zone, tc.open, tc.opens, tc.closes, tc.source, tc.zone)
			}
			// The store's agent decides from the rendered text: it must
			// read the same window at the same instant.
			text := Schedule(s, tc.group, defaults).Text()
			sched, err := window.Parse(text, tc.zone)
			if err != nil {
				t.Fatalf("Parse(%q): %v", text, err)
			}
			st, err := sched.At(utc(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if st.Open != w.Open || !st.OpensAt.Equal(w.OpensAt) || !st.ClosesAt.Equal(w.ClosesAt) || st.Always != (tc.hours == nil && tc.group == nil) {
				t.Errorf("agent reads %q as %+v; compiler: %+v", text, st, w)
			}
		})
	}
}

func TestStoreGroupWindow(t *testing.T) {
	s := &model.Store{ID: "s1", Timezone: "UTC", Hours: everyDay("06:00", "22:00")}
	groups := []*model.Group{
		{Name: "zeta", Window: &model.GroupWindow{Days: []string{"mon"}, Start: "01:00", End: "02:00"}},
		{Name: "plain"},
		{Name: "alpha", Window: &model.GroupWindow{Days: []string{"tue"}, Start: "03:00", End: "04:00"}},
	}
	now := utc("2026-06-08T12:00:00Z") // Monday
	w, err := StoreGroupWindow(s, groups, defaults, now)
	if err != nil {
		t.Fatal(err)
	}
	if w.Source != "group:alpha" || !w.OpensAt.Equal(utc("2026-06-09T03:00:00Z")) || w.Open {
		t.Errorf("got %+v, want alpha's tuesday window", w)
	}
	w, err = StoreGroupWindow(s, groups[1:2], defaults, now)
	if err != nil {
		t.Fatal(err)
	}
	if w.Source != "hours" || !w.OpensAt.Equal(utc("2026-06-08T22:30:00Z")) {
		t.Errorf("got %+v, want the hours window", w)
	}
}

func TestStoreWindowErrors(t *testing.T) {
	now := utc("2026-06-08T12:00:00Z")
	tests := []struct {
		name  string
		store model.Store
		group *model.GroupWindow
	}{
		{"unknown zone", model.Store{ID: "s", Timezone: "Mars/Olympus", Hours: everyDay("06:00", "22:00")}, nil},
		{"bad open", model.Store{ID: "s", Timezone: "UTC", Hours: everyDay("6am", "22:00")}, nil},
		{"bad close", model.Store{ID: "s", Timezone: "UTC", Hours: everyDay("06:00", "24:00")}, nil},
		{"bad group start", model.Store{ID: "s", Timezone: "UTC"}, &model.GroupWindow{Days: []string{"mon"}, Start: "1:00", End: "02:00"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := StoreWindow(&tc.store, tc.group, defaults, now); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}

func TestLocalTime(t *testing.T) {
	chi, err := time.LoadLocation("America/Chicago")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		m         time.Month
		d, h, min int
		want      string
	}{
		{"ordinary", time.June, 10, 2, 30, "2026-06-10T07:30:00Z"},
		{"spring gap moves forward", time.March, 8, 2, 30, "2026-03-08T08:30:00Z"},
		{"spring gap start", time.March, 8, 2, 0, "2026-03-08T08:00:00Z"},
		{"after the gap", time.March, 8, 3, 0, "2026-03-08T08:00:00Z"},
		{"fall ambiguous takes first", time.November, 1, 1, 30, "2026-11-01T06:30:00Z"},
		{"fall after", time.November, 1, 2, 0, "2026-11-01T08:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := LocalTime(2026, tc.m, tc.d, tc.h, tc.min, chi).UTC().Format(time.RFC3339)
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

func FuzzParseClock(f *testing.F) {
	for _, s := range []string{"00:00", "23:59", "24:00", "7:00", "ab:cd", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		h, m, err := ParseClock(s)
		if err != nil {
			return
		}
		if h < 0 || h > 23 || m < 0 || m > 59 {
			t.Fatalf("%q gave %d:%d", s, h, m)
		}
		if back := time.Date(0, 1, 1, h, m, 0, 0, time.UTC).Format("15:04"); back != s {
			t.Fatalf("%q round-trips to %q", s, back)
		}
	})
}
