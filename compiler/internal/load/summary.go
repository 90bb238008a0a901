package load

import (
	"encoding/binary"
	"path/filepath"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/model"
)

// summaryMagic starts every summary entry; bump its number when the
// summary's layout changes.
var summaryMagic = []byte("fleetc-load-summary-2\x00")

// summaryCache holds each file's summary under the key of its result, so
// a summary is exactly as fresh as the result it was taken from.
func summaryCache(cacheDir string) *fileCache {
	return &fileCache{dir: filepath.Join(cacheDir, "load-summary"), magic: summaryMagic}
}

// fileSummary is what LoadStore needs of a fleet file it does not decode:
// the stores it declares with their jurisdictions (country and region),
// and whether it holds anything else (settings, another kind of entity,
// or findings; such a file is always decoded).
//
// It is read at every explain for every store file, so it stays in its
// encoded form (one string) with the offset of each store's record:
// 60,000 stores cost a few allocations, not 60,000.
type fileSummary struct {
	other bool
	juris []model.Jurisdiction
	body  string   // the store records: id, then index into juris
	offs  []uint32 // where each record starts in body, id order
}

func summarize(r *fileResult) fileSummary {
	var w cacheWriter
	s := fileSummary{
		other: r.Settings != nil || len(r.Groups)+len(r.Apps)+len(r.Rings)+len(r.Freezes)+len(r.Overrides)+len(r.Halts)+len(r.Teams) > 0 ||
			len(r.Invalid) > 0 || len(r.Diags) > 0,
		offs: make([]uint32, len(r.Stores)),
	}
	idx := map[model.Jurisdiction]int{}
	for i, st := range r.Stores {
		j := model.Jurisdiction{Country: st.Jurisdiction.Country, Region: st.Jurisdiction.Region}
		k, ok := idx[j]
		if !ok {
			k = len(s.juris)
			idx[j] = k
			s.juris = append(s.juris, j)
		}
		s.offs[i] = uint32(len(w.buf))
		w.str(st.ID)
		w.uvarint(uint64(k))
	}
	s.body = string(w.buf)
	return s
}

// len is the number of stores the file declares.
func (s *fileSummary) len() int { return len(s.offs) }

// store returns the id and jurisdiction index of the i-th store.
func (s *fileSummary) store(i int) (id string, juris int) {
	b := s.body[s.offs[i]:]
	n, k := uvarintString(b)
	id = b[k : k+int(n)]
	j, _ := uvarintString(b[k+int(n):])
	return id, int(j)
}

// declares reports whether the file declares store id.
func (s *fileSummary) declares(id string) bool {
	lo, hi := 0, s.len()
	for lo < hi {
		m := int(uint(lo+hi) >> 1)
		sid, _ := s.store(m)
		switch c := strings.Compare(sid, id); {
		case c == 0:
			return true
		case c < 0:
			lo = m + 1
		default:
			hi = m
		}
	}
	return false
}

// encodeSummary writes: other (one byte), the jurisdictions (count, then
// country and region), the number of stores, then the store records (id
// as a length-prefixed string, jurisdiction index as a uvarint).
func encodeSummary(s fileSummary) []byte {
	var w cacheWriter
	other := byte(0)
	if s.other {
		other = 1
	}
	w.buf = append(w.buf, other)
	w.uvarint(uint64(len(s.juris)))
	for _, j := range s.juris {
		w.str(j.Country)
		w.str(j.Region)
	}
	w.uvarint(uint64(len(s.offs)))
	w.buf = append(w.buf, s.body...)
	return w.buf
}

// decodeSummary reads what encodeSummary wrote, checking every record
// (lengths, indexes, id order) once.
func decodeSummary(b []byte) (fileSummary, error) {
	var s fileSummary
	if len(b) == 0 || b[0] > 1 {
		return s, errCorrupt
	}
	s.other = b[0] == 1
	r := cacheReader{b: b[1:]}
	nj := r.uvarint()
	if nj > uint64(len(r.b)) {
		return fileSummary{}, errCorrupt
	}
	s.juris = make([]model.Jurisdiction, nj)
	for i := range s.juris {
		s.juris[i].Country = string(r.bytes(r.uvarint()))
		s.juris[i].Region = string(r.bytes(r.uvarint()))
	}
	n := r.uvarint()
	if r.err != nil || n > uint64(len(r.b)) {
		return fileSummary{}, errCorrupt
	}
	s.body = string(r.b)
	s.offs = make([]uint32, n)
	at, prev := 0, ""
	for i := range s.offs {
		s.offs[i] = uint32(at)
		l, k := uvarintString(s.body[at:])
		if k <= 0 || l > uint64(len(s.body)-at-k) {
			return fileSummary{}, errCorrupt
		}
		id := s.body[at+k : at+k+int(l)]
		at += k + int(l)
		j, k := uvarintString(s.body[at:])
		if k <= 0 || j >= nj || (i > 0 && id <= prev) {
			return fileSummary{}, errCorrupt
		}
		at += k
		prev = id
	}
	if at != len(s.body) {
		return fileSummary{}, errCorrupt
	}
	return s, nil
}

// uvarintString is binary.Uvarint over a string.
func uvarintString(s string) (uint64, int) {
	var x uint64
	var sh uint
	for i := 0; i < len(s) && i < binary.MaxVarintLen64; i++ {
		c := s[i]
		if c < 0x80 {
			if i == binary.MaxVarintLen64-1 && c > 1 {
				return 0, -(i + 1)
			}
			return x | uint64(c)<<sh, i + 1
		}
		x |= uint64(c&0x7f) << sh
		sh += 7
	}
	return 0, 0
}
