package gate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
)

// MaxJSONLine bounds one line of decisions.jsonl when it is read. A line
// names up to every store of the fleet (60,000 store ids are about 1.5 MB).
const MaxJSONLine = 256 << 20

// DecodeJSONL reads decisions.jsonl from r: grouped lines, the one-store
// lines older fleetc wrote, or both. It returns one Decision per store of
// each line, in store then app order (the order Run records them in),
// whatever the order of the lines. The decisions of one line share their
// Rules, Reasons, Teams and Until: callers must not modify them. Blank
// lines are skipped; a line that does not decode is an error naming it.
func DecodeJSONL(r io.Reader) ([]Decision, error) {
	var (
		lines  []Decision // one per line, without its store
		stores [][]string // the stores of each line
	)
	err := ScanJSONL(r, func(d *Decision, ss []string) error {
		if ss == nil {
			return errors.New(`no "store" or "stores"`)
		}
		lines = append(lines, *d)
		stores = append(stores, ss)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return expand(lines, stores), nil
}

// ScanJSONL reads decisions.jsonl from r line by line, in either format,
// and calls fn with each line's decision (its Store empty) and the stores
// it names: a group's, the one store of an older line, or nil when the
// line names none (fn decides whether that is an error). A line naming
// both forms, or an empty group, is an error. Errors, fn's too, name the
// line. Blank lines are skipped.
func ScanJSONL(r io.Reader, fn func(d *Decision, stores []string) error) error {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), MaxJSONLine)
	n := 0
	for sc.Scan() {
		n++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		d, ss, err := decodeLine(b)
		if err == nil {
			err = fn(&d, ss)
		}
		if err != nil {
			return fmt.Errorf("decisions line %d: %w", n, err)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("decisions line %d: %w", n+1, err)
	}
	return nil
}

// jsonlLine is a line of either format. Its Store shadows Decision's.
type jsonlLine struct {
	Store  *string  `json:"store"` // a line of older fleetc
	Stores []string `json:"stores"`
	Decision
}

// decodeLine decodes one line into its decision (without store) and its
// stores (nil when it names none).
func decodeLine(b []byte) (Decision, []string, error) {
	var l jsonlLine
	if err := json.Unmarshal(b, &l); err != nil {
		return Decision{}, nil, err
	}
	switch {
	case l.Stores != nil && l.Store != nil:
		return Decision{}, nil, errors.New(`both "store" and "stores"`)
	case l.Stores != nil:
		if len(l.Stores) == 0 {
			return Decision{}, nil, errors.New(`empty "stores"`)
		}
		return l.Decision, l.Stores, nil
	case l.Store != nil:
		return l.Decision, []string{*l.Store}, nil
	}
	return l.Decision, nil, nil
}

// expand turns lines into one decision per store, in store then app
// order: stores are bucketed (a map lookup per pair, a sort of the
// distinct stores), and each store's lines, in file order, are sorted by
// app only when the file did not already list them so.
func expand(lines []Decision, stores [][]string) []Decision {
	n := 0
	for _, ss := range stores {
		n += len(ss)
	}
	if n == 0 {
		return nil
	}
	ids := map[string]int32{}
	var names []string
	var count []int32
	pairStore := make([]int32, 0, n) // store id of each pair, in file order
	for _, ss := range stores {
		for _, s := range ss {
			id, ok := ids[s]
			if !ok {
				id = int32(len(names))
				ids[s] = id
				names = append(names, s)
				count = append(count, 0)
			}
			count[id]++
			pairStore = append(pairStore, id)
		}
	}
	order := make([]int32, len(names)) // store ids by name
	for i := range order {
		order[i] = int32(i)
	}
	slices.SortFunc(order, func(a, b int32) int { return strings.Compare(names[a], names[b]) })
	next := make([]int32, len(names))
	off := int32(0)
	for _, id := range order {
		next[id] = off
		off += count[id]
	}
	lineOf := make([]int32, n) // each pair's line, stores in order
	p := 0
	for l, ss := range stores {
		for range ss {
			id := pairStore[p]
			p++
			lineOf[next[id]] = int32(l)
			next[id]++
		}
	}
	byApp := func(a, b int32) int { return strings.Compare(lines[a].App, lines[b].App) }
	out := make([]Decision, n)
	start := 0
	for _, id := range order {
		run := lineOf[start : start+int(count[id])]
		if !slices.IsSortedFunc(run, byApp) {
			slices.SortStableFunc(run, byApp)
		}
		for j, l := range run {
			d := &out[start+j]
			*d = lines[l]
			d.Store = names[id]
		}
		start += len(run)
	}
	return out
}
