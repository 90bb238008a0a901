package gate

import (
	"encoding/json"
	"unsafe"
)

// AppendJSONL appends one JSON line per decision: byte for byte what an
// encoding/json Encoder writes for each (the .fleetc/decisions.jsonl
// format), without reflection. Decisions of one class share their Rules,
// Reasons, Teams and Until; each shared value is encoded once.
func AppendJSONL(dst []byte, ds []Decision) []byte {
	type sliceKey struct {
		p unsafe.Pointer
		n int
	}
	shared := map[sliceKey][]byte{}
	encoded := func(p unsafe.Pointer, n int, v any) []byte {
		k := sliceKey{p, n}
		if b, ok := shared[k]; ok {
			return b
		}
		b, err := json.Marshal(v)
		if err != nil { // only a time outside years 0-9999 fails
			b = []byte("null")
		}
		shared[k] = b
		return b
	}
	for i := range ds {
		d := &ds[i]
		dst = append(dst, `{"store":`...)
		dst = appendString(dst, d.Store)
		dst = append(dst, `,"app":`...)
		dst = appendString(dst, d.App)
		dst = append(dst, `,"ring":`...)
		dst = appendString(dst, d.Ring)
		dst = append(dst, `,"kind":`...)
		dst = appendString(dst, string(d.Kind))
		if d.From != "" {
			dst = append(dst, `,"from":`...)
			dst = appendString(dst, d.From)
		}
		if d.To != "" {
			dst = append(dst, `,"to":`...)
			dst = appendString(dst, d.To)
		}
		dst = append(dst, `,"verdict":`...)
		dst = appendString(dst, string(d.Verdict))
		if len(d.Rules) > 0 {
			dst = append(dst, `,"rules":`...)
			dst = append(dst, encoded(unsafe.Pointer(unsafe.SliceData(d.Rules)), len(d.Rules), d.Rules)...)
		}
		if len(d.Reasons) > 0 {
			dst = append(dst, `,"reasons":`...)
			dst = append(dst, encoded(unsafe.Pointer(unsafe.SliceData(d.Reasons)), len(d.Reasons), d.Reasons)...)
		}
		if len(d.Teams) > 0 {
			dst = append(dst, `,"teams":`...)
			dst = append(dst, encoded(unsafe.Pointer(unsafe.SliceData(d.Teams)), len(d.Teams), d.Teams)...)
		}
		if d.Until != nil {
			dst = append(dst, `,"until":`...)
			dst = append(dst, encoded(unsafe.Pointer(d.Until), -1, d.Until)...)
		}
		if d.Runs != "" {
			dst = append(dst, `,"runs":`...)
			dst = appendString(dst, d.Runs)
		}
		dst = append(dst, "}\n"...)
	}
	return dst
}

// appendString quotes s as encoding/json does (HTML-safe): plain printable
// ASCII directly, anything else through encoding/json.
func appendString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
