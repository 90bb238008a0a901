package calendar

import (
	"fmt"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// LocalLayout is how local freezes write their bounds.
const LocalLayout = "2006-01-02T15:04"

// FreezeActive reports whether f is in force at now and its bounds in UTC.
// A local freeze reads start and end as wall-clock times in loc (the
// store's zone), so the same freeze starts at different instants in
// different zones; other freezes are RFC 3339 instants and loc is unused.
// The interval is half-open: active from start inclusive to end exclusive.
func FreezeActive(f *model.Freeze, loc *time.Location, now time.Time) (active bool, start, end time.Time, err error) {
	start, err = freezeBound(f.Start, f.Local, loc)
	if err != nil {
		return false, time.Time{}, time.Time{}, fmt.Errorf("freeze %s: start: %w", f.Name, err)
	}
	end, err = freezeBound(f.End, f.Local, loc)
	if err != nil {
		return false, time.Time{}, time.Time{}, fmt.Errorf("freeze %s: end: %w", f.Name, err)
	}
	if !end.After(start) {
		return false, time.Time{}, time.Time{}, fmt.Errorf("freeze %s: end %s is not after start %s", f.Name, f.End, f.Start)
	}
	active = !now.Before(start) && now.Before(end)
	return active, start.UTC(), end.UTC(), nil
}

func freezeBound(s string, local bool, loc *time.Location) (time.Time, error) {
	if !local {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			// the schema also admits RFC 3339 without seconds
			t, err = time.Parse("2006-01-02T15:04Z07:00", s)
		}
		return t, err
	}
	if loc == nil {
		return time.Time{}, fmt.Errorf("local time %q needs the store's zone", s)
	}
	t, err := time.Parse(LocalLayout, s)
	if err != nil {
		return time.Time{}, err
	}
	return LocalTime(t.Year(), t.Month(), t.Day(), t.Hour(), t.Minute(), loc), nil
}
