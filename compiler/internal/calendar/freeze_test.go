package calendar

import (
	"testing"
	"time"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

func TestFreezeActive(t *testing.T) {
	thanksgiving := &model.Freeze{Name: "thanksgiving", Local: true, Start: "2026-11-26T00:00", End: "2026-11-27T00:00"}
	holidays := &model.Freeze{Name: "holidays", Start: "2026-12-20T00:00:00Z", End: "2027-01-02T00:00-05:00"}
	tests := []struct {
		name       string
		f          *model.Freeze
		zone       string
		now        string
		active     bool
		start, end string
	}{
		// Midnight local: 06:00Z in Chicago (CST), 08:00Z in Los Angeles (PST).
		{"chicago before start", thanksgiving, "America/Chicago", "2026-11-26T05:59:00Z", false, "2026-11-26T06:00:00Z", "2026-11-27T06:00:00Z"},
		{"chicago at start", thanksgiving, "America/Chicago", "2026-11-26T06:00:00Z", true, "2026-11-26T06:00:00Z", "2026-11-27T06:00:00Z"},
		{"los angeles not yet", thanksgiving, "America/Los_Angeles", "2026-11-26T07:00:00Z", false, "2026-11-26T08:00:00Z", "2026-11-27T08:00:00Z"},
		{"los angeles at start", thanksgiving, "America/Los_Angeles", "2026-11-26T08:00:00Z", true, "2026-11-26T08:00:00Z", "2026-11-27T08:00:00Z"},
		{"chicago last minute", thanksgiving, "America/Chicago", "2026-11-27T05:59:00Z", true, "2026-11-26T06:00:00Z", "2026-11-27T06:00:00Z"},
		{"chicago end exclusive", thanksgiving, "America/Chicago", "2026-11-27T06:00:00Z", false, "2026-11-26T06:00:00Z", "2026-11-27T06:00:00Z"},
		{"los angeles still on", thanksgiving, "America/Los_Angeles", "2026-11-27T06:00:00Z", true, "2026-11-26T08:00:00Z", "2026-11-27T08:00:00Z"},
		{"absolute ignores zone", holidays, "Asia/Tokyo", "2026-12-31T12:00:00Z", true, "2026-12-20T00:00:00Z", "2027-01-02T05:00:00Z"},
		{"absolute over", holidays, "UTC", "2027-01-02T05:00:00Z", false, "2026-12-20T00:00:00Z", "2027-01-02T05:00:00Z"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			loc, err := time.LoadLocation(tc.zone)
			if err != nil {
				t.Fatal(err)
			}
			active, start, end, err := FreezeActive(tc.f, loc, utc(tc.now))
			if err != nil {
				t.Fatal(err)
			}
			if active != tc.active || start.Format(time.RFC3339) != tc.start || end.Format(time.RFC3339) != tc.end {
				t.Errorf("got %v %s..%s, want %v %s..%s", active, start.Format(time.RFC3339), end.Format(time.RFC3339), tc.active, tc.start, tc.end)
			}
		})
	}
}

func TestFreezeActiveErrors(t *testing.T) {
	now := utc("2026-11-26T12:00:00Z")
	tests := []struct {
		name string
		f    model.Freeze
		loc  *time.Location
	}{
		{"end before start", model.Freeze{Name: "x", Start: "2026-11-27T00:00:00Z", End: "2026-11-26T00:00:00Z"}, time.UTC},
		{"empty interval", model.Freeze{Name: "x", Local: true, Start: "2026-11-27T00:00", End: "2026-11-27T00:00"}, time.UTC},
		{"absolute without offset", model.Freeze{Name: "x", Start: "2026-11-26T00:00", End: "2026-11-27T00:00"}, time.UTC},
		{"local with offset", model.Freeze{Name: "x", Local: true, Start: "2026-11-26T00:00Z", End: "2026-11-27T00:00"}, time.UTC},
		{"local without zone", model.Freeze{Name: "x", Local: true, Start: "2026-11-26T00:00", End: "2026-11-27T00:00"}, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, _, err := FreezeActive(&tc.f, tc.loc, now); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}
