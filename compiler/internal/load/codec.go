package load

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strings"
)

// The cache stores a fileResult in a compact binary form that keeps
// everything encoding/json would lose: positions and refs (json:"-"),
// nil versus empty slices and maps (the decoder yields empty ones for
// lists and structs written in CUE), and json.Number in free-form values.
// The layout follows the Go types field by field; typeFingerprint is part
// of the cache key, so a change to any type invalidates every entry.
//
//	bool        one byte
//	int kinds   zig-zag varint
//	float64     8 bytes, IEEE 754 bits, little endian
//	string      uvarint length, bytes
//	pointer     0 (nil) or 1 then the element
//	slice, map  uvarint length+1 (0 = nil), then elements (maps: key, value,
//	            keys sorted so equal results encode to equal bytes)
//	struct      every exported field in declaration order
//	interface   uvarint length+1 (0 = nil) of its JSON, then the JSON

var errCorrupt = errors.New("corrupt cache entry")

func encodeResult(r *fileResult) []byte {
	var w cacheWriter
	w.value(reflect.ValueOf(r).Elem())
	return w.buf
}

func decodeResult(b []byte) (fileResult, error) {
	var r fileResult
	rd := cacheReader{b: b}
	rd.value(reflect.ValueOf(&r).Elem())
	if rd.err == nil && len(rd.b) != 0 {
		rd.err = errCorrupt
	}
	return r, rd.err
}

type cacheWriter struct{ buf []byte }

func (w *cacheWriter) uvarint(n uint64) { w.buf = binary.AppendUvarint(w.buf, n) }

func (w *cacheWriter) str(s string) {
	w.uvarint(uint64(len(s)))
	w.buf = append(w.buf, s...)
}

func (w *cacheWriter) value(v reflect.Value) {
	switch v.Kind() {
	case reflect.Bool:
		b := byte(0)
		if v.Bool() {
			b = 1
		}
		w.buf = append(w.buf, b)
	case reflect.Int, reflect.Int64, reflect.Int32:
		w.buf = binary.AppendVarint(w.buf, v.Int())
	case reflect.Float64:
		w.buf = binary.LittleEndian.AppendUint64(w.buf, math.Float64bits(v.Float()))
	case reflect.String:
		w.str(v.String())
	case reflect.Pointer:
		if v.IsNil() {
			w.buf = append(w.buf, 0)
			return
		}
		w.buf = append(w.buf, 1)
		w.value(v.Elem())
	case reflect.Slice:
		if v.IsNil() {
			w.uvarint(0)
			return
		}
		w.uvarint(uint64(v.Len()) + 1)
		for i := range v.Len() {
			w.value(v.Index(i))
		}
	case reflect.Map:
		if v.IsNil() {
			w.uvarint(0)
			return
		}
		w.uvarint(uint64(v.Len()) + 1)
		keys := v.MapKeys()
		slices.SortFunc(keys, func(a, b reflect.Value) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			w.str(k.String())
			w.value(v.MapIndex(k))
		}
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				w.value(v.Field(i))
			}
		}
	case reflect.Interface:
		if v.IsNil() {
			w.uvarint(0)
			return
		}
		b, err := json.Marshal(v.Interface())
		if err != nil {
			// Values decoded from JSON always encode; this is a bug.
			panic(fmt.Sprintf("load: cache encode: %v", err))
		}
		w.uvarint(uint64(len(b)) + 1)
		w.buf = append(w.buf, b...)
	default:
		panic(fmt.Sprintf("load: cache encode: unsupported kind %v", v.Kind()))
	}
}

// cacheReader decodes what cacheWriter wrote. It never trusts a length:
// every element takes at least one byte, so a length beyond what is left
// is corruption, not an allocation.
type cacheReader struct {
	b   []byte
	err error
}

func (r *cacheReader) fail() {
	if r.err == nil {
		r.err = errCorrupt
	}
	r.b = nil
}

func (r *cacheReader) uvarint() uint64 {
	n, k := binary.Uvarint(r.b)
	if k <= 0 {
		r.fail()
		return 0
	}
	r.b = r.b[k:]
	return n
}

func (r *cacheReader) bytes(n uint64) []byte {
	if n > uint64(len(r.b)) {
		r.fail()
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

// count reads a length+1 prefix: -1 for nil.
func (r *cacheReader) count() int {
	n := r.uvarint()
	if n == 0 || r.err != nil {
		return -1
	}
	if n-1 > uint64(len(r.b)) {
		r.fail()
		return -1
	}
	return int(n - 1)
}

func (r *cacheReader) value(v reflect.Value) {
	if r.err != nil {
		return
	}
	switch v.Kind() {
	case reflect.Bool:
		b := r.bytes(1)
		if len(b) == 1 {
			if b[0] > 1 {
				r.fail()
				return
			}
			v.SetBool(b[0] == 1)
		}
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, k := binary.Varint(r.b)
		if k <= 0 || v.OverflowInt(n) {
			r.fail()
			return
		}
		r.b = r.b[k:]
		v.SetInt(n)
	case reflect.Float64:
		if b := r.bytes(8); len(b) == 8 {
			v.SetFloat(math.Float64frombits(binary.LittleEndian.Uint64(b)))
		}
	case reflect.String:
		v.SetString(string(r.bytes(r.uvarint())))
	case reflect.Pointer:
		b := r.bytes(1)
		switch {
		case len(b) == 0:
		case b[0] == 0:
		case b[0] == 1:
			p := reflect.New(v.Type().Elem())
			r.value(p.Elem())
			v.Set(p)
		default:
			r.fail()
		}
	case reflect.Slice:
		n := r.count()
		if n < 0 {
			return
		}
		s := reflect.MakeSlice(v.Type(), n, n)
		for i := range n {
			r.value(s.Index(i))
		}
		v.Set(s)
	case reflect.Map:
		n := r.count()
		if n < 0 {
			return
		}
		m := reflect.MakeMapWithSize(v.Type(), n)
		for range n {
			k := reflect.New(v.Type().Key()).Elem()
			k.SetString(string(r.bytes(r.uvarint())))
			e := reflect.New(v.Type().Elem()).Elem()
			r.value(e)
			if r.err != nil {
				return
			}
			m.SetMapIndex(k, e)
		}
		v.Set(m)
	case reflect.Struct:
		for i := range v.NumField() {
			if v.Type().Field(i).IsExported() {
				r.value(v.Field(i))
			}
		}
	case reflect.Interface:
		n := r.count()
		if n < 0 {
			return
		}
		var x any
		if err := decodeJSON(r.bytes(uint64(n)), &x); err != nil {
			r.fail()
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		r.fail()
	}
}

// typeFingerprint describes t's layout as the codec sees it, so the cache
// key changes whenever a model type does.
func typeFingerprint(t reflect.Type) string {
	var b bytes.Buffer
	seen := map[reflect.Type]bool{}
	var walk func(t reflect.Type)
	walk = func(t reflect.Type) {
		fmt.Fprintf(&b, "%s:%s", t.String(), t.Kind())
		if seen[t] {
			b.WriteString("^;")
			return
		}
		seen[t] = true
		switch t.Kind() {
		case reflect.Pointer, reflect.Slice:
			b.WriteByte('(')
			walk(t.Elem())
			b.WriteByte(')')
		case reflect.Map:
			b.WriteByte('(')
			walk(t.Key())
			walk(t.Elem())
			b.WriteByte(')')
		case reflect.Struct:
			b.WriteByte('{')
			for i := range t.NumField() {
				if f := t.Field(i); f.IsExported() {
					b.WriteString(f.Name + " ")
					walk(f.Type)
				}
			}
			b.WriteByte('}')
		}
		b.WriteByte(';')
	}
	walk(t)
	return b.String()
}
