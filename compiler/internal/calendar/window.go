package calendar

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
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

// horizon is how many days around now are laid out. Schedules repeat
// weekly, so eight days either side always include the previous and the
// next period of any non-empty schedule.
const horizon = 8

var weekdays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// interval is a half-open [start, end) span of absolute time.
type interval struct{ start, end time.Time }

// StoreWindow returns the window of s at now. With groupWindow nil the
// window is derived from the store's opening hours and d; otherwise the
// group's weekly window is used as written (Source "group"; see
// StoreGroupWindow for "group:<name>").
func StoreWindow(s *model.Store, groupWindow *model.GroupWindow, d model.WindowDefaults, now time.Time) (Window, error) {
	loc, err := time.LoadLocation(s.Timezone)
	if err != nil {
		return Window{}, fmt.Errorf("store %s: timezone: %w", s.ID, err)
	}
	w := Window{Zone: s.Timezone}
	var spans []interval
	if groupWindow != nil {
		w.Source = SourceGroup
		spans, err = groupSpans(groupWindow, loc, now)
	} else {
		w.Source = SourceHours
		if len(s.Hours) == 0 {
			w.Open = true
			return w, nil
		}
		spans, err = derivedSpans(s.Hours, d, loc, now)
	}
	if err != nil {
		return Window{}, fmt.Errorf("store %s: %w", s.ID, err)
	}
	for _, sp := range spans {
		if !sp.end.After(now) {
			continue
		}
		w.OpensAt, w.ClosesAt = sp.start.UTC(), sp.end.UTC()
		w.Open = !now.Before(sp.start)
		break
	}
	return w, nil
}

// StoreGroupWindow picks the window of s among the groups it belongs to:
// the first group, by name, that sets a window; with none, the window is
// derived from hours. Source is then "group:<name>".
func StoreGroupWindow(s *model.Store, groups []*model.Group, d model.WindowDefaults, now time.Time) (Window, error) {
	var pick *model.Group
	for _, g := range groups {
		if g.Window != nil && (pick == nil || g.Name < pick.Name) {
			pick = g
		}
	}
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

// derivedSpans lays out opening periods around now and returns the gaps
// between them shrunk by AfterClose and BeforeOpen, in time order.
func derivedSpans(hours map[string]model.DayHours, d model.WindowDefaults, loc *time.Location, now time.Time) ([]interval, error) {
	local := now.In(loc)
	var open []interval
	for i := -horizon; i <= horizon; i++ {
		y, m, day := local.Date()
		date := time.Date(y, m, day+i, 12, 0, 0, 0, time.UTC) // calendar arithmetic only
		h, ok := hours[weekdays[date.Weekday()]]
		if !ok {
			continue
		}
		sp, err := daySpan(date, h.Open, h.Close, loc)
		if err != nil {
			return nil, fmt.Errorf("hours %s: %w", weekdays[date.Weekday()], err)
		}
		open = append(open, sp)
	}
	open = merge(open)
	var gaps []interval
	for i := 0; i+1 < len(open); i++ {
		g := interval{open[i].end.Add(d.AfterClose.Std()), open[i+1].start.Add(-d.BeforeOpen.Std())}
		if g.start.Before(g.end) {
			gaps = append(gaps, g)
		}
	}
	return gaps, nil
}

// groupSpans lays out a weekly group window around now.
func groupSpans(gw *model.GroupWindow, loc *time.Location, now time.Time) ([]interval, error) {
	days := make(map[string]bool, len(gw.Days))
	for _, day := range gw.Days {
		days[day] = true
	}
	local := now.In(loc)
	var spans []interval
	for i := -horizon; i <= horizon; i++ {
		y, m, day := local.Date()
		date := time.Date(y, m, day+i, 12, 0, 0, 0, time.UTC)
		if !days[weekdays[date.Weekday()]] {
			continue
		}
		sp, err := daySpan(date, gw.Start, gw.End, loc)
		if err != nil {
			return nil, fmt.Errorf("group window: %w", err)
		}
		spans = append(spans, sp)
	}
	return merge(spans), nil
}

// daySpan is [from, to) on the local date of date; to at or before from
// (as clock times) ends on the next day.
func daySpan(date time.Time, from, to string, loc *time.Location) (interval, error) {
	fh, fm, err := ParseClock(from)
	if err != nil {
		return interval{}, err
	}
	th, tm, err := ParseClock(to)
	if err != nil {
		return interval{}, err
	}
	y, m, d := date.Date()
	endDay := d
	if th*60+tm <= fh*60+fm {
		endDay++
	}
	return interval{LocalTime(y, m, d, fh, fm, loc), LocalTime(y, m, endDay, th, tm, loc)}, nil
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []interval) []interval {
	slices.SortFunc(spans, func(a, b interval) int { return a.start.Compare(b.start) })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && !sp.start.After(out[n-1].end) {
			if sp.end.After(out[n-1].end) {
				out[n-1].end = sp.end
			}
			continue
		}
		out = append(out, sp)
	}
	return out
}

// ParseClock reads "HH:MM" (24-hour).
func ParseClock(s string) (hour, minute int, err error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, 0, fmt.Errorf("clock %q: want HH:MM", s)
	}
	hour, err1 := twoDigits(s[0:2])
	minute, err2 := twoDigits(s[3:5])
	if err := cmp.Or(err1, err2); err != nil || hour > 23 || minute > 59 {
		return 0, 0, fmt.Errorf("clock %q: want HH:MM", s)
	}
	return hour, minute, nil
}

func twoDigits(s string) (int, error) {
	if s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, fmt.Errorf("not a number: %q", s)
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), nil
}

// LocalTime is time.Date in loc, except that a wall-clock time inside a
// spring-forward gap is moved past the gap by the same distance (02:30 on
// a day that skips 02:00-03:00 becomes 03:30) instead of Go's choice of an
// instant before it. Ambiguous fall-back times keep Go's first occurrence.
func LocalTime(y int, m time.Month, d, hour, minute int, loc *time.Location) time.Time {
	t := time.Date(y, m, d, hour, minute, 0, 0, loc)
	want := time.Date(y, m, d, hour, minute, 0, 0, time.UTC)
	got := time.Date(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), 0, 0, time.UTC)
	if got.Equal(want) {
		return t
	}
	return t.Add(want.Sub(got))
}
