// Package calendar computes when a store may change: its deployment window
// (derived from opening hours or set by a group) and whether a freeze is in
// force. Everything is computed in the store's own IANA zone with
// time.Date, so windows and freezes follow daylight-saving changes; results
// are reported in UTC.
//
// Rules, decided here and documented in docs/policies.md:
//   - A derived window runs from AfterClose past a closing until BeforeOpen
//     before the next opening. Closed days are spanned; a day whose close is
//     at or before its open closes after midnight.
//   - A store with no opening hours at all is never open for business, so it
//     is always inside its window (Open true, OpensAt and ClosesAt zero).
//   - A store whose opening periods leave no gap longer than
//     AfterClose+BeforeOpen (open around the clock) has no derived window: it
//     is never open for changes by hours (Open false, zero times). Give its
//     group a window, or use an override.
//   - Clock times that fall in a spring-forward gap are taken as the same
//     distance past the gap (02:30 on a day that skips 02:00-03:00 is 03:30);
//     ambiguous times on a fall-back day take their first occurrence.
//   - Window and freeze intervals are half-open: [start, end).
package calendar
