package calendar

import (
	"fmt"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
	"github.com/fleetc/fleetc/internal/window"
)

// Window is a store's current or next deployment window.
type Window struct {
	Open     bool      // now is inside the window
	OpensAt  time.Time // start of the current or next window, UTC; zero when none
	ClosesAt time.Time // its end, UTC; zero when none
	Source   string    // "hours", "group" or "group:<name>"
	Zone     string    // the store's IANA zone
}

// Sources of a window.
const (
	SourceHours = "hours"
	SourceGroup = "group"
)

// StoreWindow returns the window of s at now. With groupWindow nil the
// window is derived from the store's opening hours and d; otherwise the
// group's weekly window is used as written (Source "group"; see
// StoreGroupWindow for "group:<name>").
func StoreWindow(s *model.Store, groupWindow *model.GroupWindow, d model.WindowDefaults, now time.Time) (Window, error) {
	sched := Schedule(s, groupWindow, d)
	w := Window{Zone: s.Timezone, Source: SourceHours}
	if groupWindow != nil {
		w.Source = SourceGroup
	}
	st, err := sched.At(now)
	if err != nil {
		return Window{}, fmt.Errorf("store %s: %w", s.ID, err)
	}
	w.Open, w.OpensAt, w.ClosesAt = st.Open, st.OpensAt, st.ClosesAt
	return w, nil
}

// Schedule is the weekly schedule StoreWindow reads: the group's window
// when groupWindow is set, else the store's hours with d's margins. Its
// Text is what fleetc renders for the store's agent.
func Schedule(s *model.Store, groupWindow *model.GroupWindow, d model.WindowDefaults) *window.Schedule {
	sched := &window.Schedule{Zone: s.Timezone, AfterClose: d.AfterClose.Std(), BeforeOpen: d.BeforeOpen.Std()}
	if groupWindow != nil {
		sched.Group = &window.Weekly{Days: groupWindow.Days, Start: groupWindow.Start, End: groupWindow.End}
		return sched
	}
	if len(s.Hours) > 0 {
		sched.Hours = make(map[string]window.Day, len(s.Hours))
		for day, h := range s.Hours {
			sched.Hours[day] = window.Day{Open: h.Open, Close: h.Close}
		}
	}
	return sched
}

// GroupFor picks the group whose window applies to a store among the
// window-setting groups it belongs to: the first by name; nil when none.
func GroupFor(groups []*model.Group) *model.Group {
	var pick *model.Group
	for _, g := range groups {
		if g.Window != nil && (pick == nil || g.Name < pick.Name) {
			pick = g
		}
	}
	return pick
}

// StoreGroupWindow picks the window of s among the groups it belongs to:
// the first group, by name, that sets a window; with none, the window is
// derived from hours. Source is then "group:<name>".
func StoreGroupWindow(s *model.Store, groups []*model.Group, d model.WindowDefaults, now time.Time) (Window, error) {
	pick := GroupFor(groups)
	if pick == nil {
		return StoreWindow(s, nil, d, now)
	}
	w, err := StoreWindow(s, pick.Window, d, now)
	if err != nil {
		return Window{}, err
	}
	w.Source = SourceGroup + ":" + pick.Name
	return w, nil
}

// ParseClock reads "HH:MM" (24-hour).
func ParseClock(s string) (hour, minute int, err error) { return window.ParseClock(s) }

// LocalTime is time.Date in loc, except that a wall-clock time inside a
// spring-forward gap is moved past the gap by the same distance (see
// window.LocalTime).
func LocalTime(y int, m time.Month, d, hour, minute int, loc *time.Location) time.Time {
	return window.LocalTime(y, m, d, hour, minute, loc)
}
