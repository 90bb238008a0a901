// Package window is a store's weekly deployment window: the rules that
// turn opening hours (or a group's weekly window) into the spans of time a
// store may change, and a one-line text form of them. The compiler
// (compiler/internal/calendar) decides with it at compile time; the store's
// fleetc-agent decides with the same code, from the text fleetc renders
// into the store's ConfigMap, at apply time. It uses the standard library
// only, so the agent stays small.
//
// Rules (docs/policies.md):
//   - A derived window runs from AfterClose past a closing until BeforeOpen
//     before the next opening. Closed days are spanned; a day whose close is
//     at or before its open closes after midnight.
//   - No opening hours at all: never open for business, so always inside
//     the window (State.Always).
//   - Opening periods that leave no gap longer than AfterClose+BeforeOpen
//     (open around the clock): no window at all (Open false, zero times).
//   - Clock times in a spring-forward gap are moved past the gap by the
//     same distance; ambiguous fall-back times take their first occurrence.
//   - Spans are half-open: [start, end).
package window

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Day is one day's opening hours, "HH:MM" local time; Close at or before
// Open closes after midnight.
type Day struct{ Open, Close string }

// Weekly is a window set as written: on each of Days from Start to End
// (local time; End at or before Start ends the next day).
type Weekly struct {
	Days       []string // sun..sat
	Start, End string
}

// Schedule is everything that decides a store's window, in its own zone.
// With Group set the group's weekly window is the window; otherwise it is
// derived from Hours and the margins.
type Schedule struct {
	Zone       string
	Group      *Weekly
	Hours      map[string]Day // by weekday sun..sat; absent = closed
	AfterClose time.Duration
	BeforeOpen time.Duration
}

// State is a schedule read at one instant.
type State struct {
	Open     bool      // now is inside the window
	Always   bool      // no opening hours: always inside the window
	OpensAt  time.Time // start of the current or next window, UTC; zero when none
	ClosesAt time.Time // its end, UTC; zero when none
}

// Weekdays in time.Weekday order, as the schedule names them.
var Weekdays = [7]string{"sun", "mon", "tue", "wed", "thu", "fri", "sat"}

// horizon is how many days around now are laid out. Schedules repeat
// weekly, so eight days either side always include the previous and the
// next period of any non-empty schedule.
const horizon = 8

// Span is a half-open [Start, End) span of absolute time.
type Span struct{ Start, End time.Time }

// At reads the schedule at now.
func (s *Schedule) At(now time.Time) (State, error) {
	loc, err := time.LoadLocation(s.Zone)
	if err != nil {
		return State{}, fmt.Errorf("timezone: %w", err)
	}
	var spans []Span
	switch {
	case s.Group != nil:
		spans, err = weeklySpans(s.Group, loc, now)
	case len(s.Hours) == 0:
		return State{Open: true, Always: true}, nil
	default:
		spans, err = derivedSpans(s.Hours, s.AfterClose, s.BeforeOpen, loc, now)
	}
	if err != nil {
		return State{}, err
	}
	var st State
	for _, sp := range spans {
		if !sp.End.After(now) {
			continue
		}
		st.OpensAt, st.ClosesAt = sp.Start.UTC(), sp.End.UTC()
		st.Open = !now.Before(sp.Start)
		break
	}
	return st, nil
}

// derivedSpans lays out opening periods around now and returns the gaps
// between them shrunk by afterClose and beforeOpen, in time order.
func derivedSpans(hours map[string]Day, afterClose, beforeOpen time.Duration, loc *time.Location, now time.Time) ([]Span, error) {
	local := now.In(loc)
	var open []Span
	for i := -horizon; i <= horizon; i++ {
		y, m, day := local.Date()
		date := time.Date(y, m, day+i, 12, 0, 0, 0, time.UTC) // calendar arithmetic only
		h, ok := hours[Weekdays[date.Weekday()]]
		if !ok {
			continue
		}
		sp, err := daySpan(date, h.Open, h.Close, loc)
		if err != nil {
			return nil, fmt.Errorf("hours %s: %w", Weekdays[date.Weekday()], err)
		}
		open = append(open, sp)
	}
	open = merge(open)
	var gaps []Span
	for i := 0; i+1 < len(open); i++ {
		g := Span{open[i].End.Add(afterClose), open[i+1].Start.Add(-beforeOpen)}
		if g.Start.Before(g.End) {
			gaps = append(gaps, g)
		}
	}
	return gaps, nil
}

// weeklySpans lays out a weekly window around now.
func weeklySpans(w *Weekly, loc *time.Location, now time.Time) ([]Span, error) {
	days := make(map[string]bool, len(w.Days))
	for _, day := range w.Days {
		days[day] = true
	}
	local := now.In(loc)
	var spans []Span
	for i := -horizon; i <= horizon; i++ {
		y, m, day := local.Date()
		date := time.Date(y, m, day+i, 12, 0, 0, 0, time.UTC)
		if !days[Weekdays[date.Weekday()]] {
			continue
		}
		sp, err := daySpan(date, w.Start, w.End, loc)
		if err != nil {
			return nil, fmt.Errorf("group window: %w", err)
		}
		spans = append(spans, sp)
	}
	return merge(spans), nil
}

// daySpan is [from, to) on the local date of date; to at or before from
// (as clock times) ends on the next day.
func daySpan(date time.Time, from, to string, loc *time.Location) (Span, error) {
	fh, fm, err := ParseClock(from)
	if err != nil {
		return Span{}, err
	}
	th, tm, err := ParseClock(to)
	if err != nil {
		return Span{}, err
	}
	y, m, d := date.Date()
	endDay := d
	if th*60+tm <= fh*60+fm {
		endDay++
	}
	return Span{LocalTime(y, m, d, fh, fm, loc), LocalTime(y, m, endDay, th, tm, loc)}, nil
}

// merge sorts spans and joins those that overlap or touch.
func merge(spans []Span) []Span {
	slices.SortFunc(spans, func(a, b Span) int { return a.Start.Compare(b.Start) })
	out := spans[:0]
	for _, sp := range spans {
		if n := len(out); n > 0 && !sp.Start.After(out[n-1].End) {
			if sp.End.After(out[n-1].End) {
				out[n-1].End = sp.End
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

// Text is the schedule's one-line form, without the zone (the store's
// ConfigMap carries that as FLEETC_TIMEZONE_RAW):
//
//	always                                       no opening hours
//	hours after=30m before=1h mon=07:00-22:00 …  derived, days in sun..sat order
//	group mon,tue,wed 02:00-05:00                a group's weekly window
//
// Parse reads it back. The text holds only [a-z0-9=:,. -].
func (s *Schedule) Text() string {
	var b strings.Builder
	switch {
	case s.Group != nil:
		days := slices.Clone(s.Group.Days)
		slices.SortFunc(days, func(a, b string) int { return cmp.Compare(weekdayIndex(a), weekdayIndex(b)) })
		days = slices.Compact(days)
		b.WriteString("group ")
		b.WriteString(strings.Join(days, ","))
		b.WriteString(" " + s.Group.Start + "-" + s.Group.End)
	case len(s.Hours) == 0:
		b.WriteString("always")
	default:
		b.WriteString("hours after=" + durationText(s.AfterClose) + " before=" + durationText(s.BeforeOpen))
		for _, d := range Weekdays {
			if h, ok := s.Hours[d]; ok {
				b.WriteString(" " + d + "=" + h.Open + "-" + h.Close)
			}
		}
	}
	return b.String()
}

// durationText writes 30m, 1h, 1h30m (time.Duration's form without the
// zero units).
func durationText(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = s[:len(s)-2]
	}
	if strings.HasSuffix(s, "h0m") {
		s = s[:len(s)-2]
	}
	return s
}

func weekdayIndex(d string) int {
	if i := slices.Index(Weekdays[:], d); i >= 0 {
		return i
	}
	return len(Weekdays)
}

// Parse reads Text's form; zone is the store's IANA zone.
func Parse(text, zone string) (*Schedule, error) {
	s := &Schedule{Zone: zone}
	f := strings.Fields(text)
	if len(f) == 0 {
		return nil, errors.New("window: empty")
	}
	bad := func(format string, args ...any) (*Schedule, error) {
		return nil, fmt.Errorf("window %q: %s", text, fmt.Sprintf(format, args...))
	}
	switch f[0] {
	case "always":
		if len(f) != 1 {
			return bad("nothing may follow always")
		}
	case "group":
		if len(f) != 3 {
			return bad("want: group DAY,DAY… HH:MM-HH:MM")
		}
		w := &Weekly{Days: strings.Split(f[1], ",")}
		for _, d := range w.Days {
			if weekdayIndex(d) == len(Weekdays) {
				return bad("unknown day %q (want sun..sat)", d)
			}
		}
		var ok bool
		if w.Start, w.End, ok = clockRange(f[2]); !ok {
			return bad("want HH:MM-HH:MM, got %q", f[2])
		}
		s.Group = w
	case "hours":
		s.Hours = map[string]Day{}
		var haveAfter, haveBefore bool
		for _, tok := range f[1:] {
			k, v, ok := strings.Cut(tok, "=")
			if !ok {
				return bad("want key=value, got %q", tok)
			}
			switch k {
			case "after", "before":
				d, err := time.ParseDuration(v)
				if err != nil || d < 0 {
					return bad("%s: want a duration, got %q", k, v)
				}
				if k == "after" {
					s.AfterClose, haveAfter = d, true
				} else {
					s.BeforeOpen, haveBefore = d, true
				}
			default:
				if weekdayIndex(k) == len(Weekdays) {
					return bad("unknown key %q (want after, before or sun..sat)", k)
				}
				open, cl, ok := clockRange(v)
				if !ok {
					return bad("%s: want HH:MM-HH:MM, got %q", k, v)
				}
				s.Hours[k] = Day{Open: open, Close: cl}
			}
		}
		if !haveAfter || !haveBefore {
			return bad("hours need after= and before=")
		}
		if len(s.Hours) == 0 {
			return bad("hours without a day (a store with no hours is \"always\")")
		}
	default:
		return bad("want always, hours or group")
	}
	if _, err := time.LoadLocation(zone); err != nil {
		return nil, fmt.Errorf("window: timezone %q: %w", zone, err)
	}
	return s, nil
}

func clockRange(v string) (from, to string, ok bool) {
	from, to, ok = strings.Cut(v, "-")
	if !ok {
		return "", "", false
	}
	if _, _, err := ParseClock(from); err != nil {
		return "", "", false
	}
	if _, _, err := ParseClock(to); err != nil {
		return "", "", false
	}
	return from, to, true
}
