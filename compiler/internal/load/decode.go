package load

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strings"
	"sync"

	"cuelang.org/go/cue"
)

// decodeValue decodes a validated CUE value into the Go value rv points
// at, following the types' json tags, with the result encoding/json would
// give for v.MarshalJSON(): lists and maps present in CUE are non-nil
// even when empty, free-form values (interface types) and types with
// their own UnmarshalJSON go through JSON with json.Number for numbers.
//
// It exists for speed: MarshalJSON orders the fields of every struct
// topologically (a third of the load's time), while a Go struct needs no
// order, so known fields are looked up by name and only maps are
// iterated.
func decodeValue(v cue.Value, rv reflect.Value) error {
	return planFor(rv.Type()).decode(v, rv)
}

// decoder decodes into one Go type.
type decoder interface {
	decode(v cue.Value, rv reflect.Value) error
}

// plans holds only complete plans: workers read them without locking.
// Plans are built under planMu and published when every element plan is
// filled in, so no worker ever sees a half-built one.
var (
	plans  sync.Map // reflect.Type → decoder
	planMu sync.Mutex
)

var unmarshalerType = reflect.TypeFor[json.Unmarshaler]()

func planFor(t reflect.Type) decoder {
	if d, ok := plans.Load(t); ok {
		return d.(decoder)
	}
	planMu.Lock()
	defer planMu.Unlock()
	building := map[reflect.Type]decoder{}
	d := buildPlan(t, building)
	for bt, bd := range building {
		plans.LoadOrStore(bt, bd)
	}
	return d
}

// buildPlan builds the plan of t; building holds the plans made in this
// call, registered before their element plans so recursive types end.
func buildPlan(t reflect.Type, building map[reflect.Type]decoder) decoder {
	if d, ok := plans.Load(t); ok {
		return d.(decoder)
	}
	if d, ok := building[t]; ok {
		return d
	}
	var d decoder
	switch {
	case reflect.PointerTo(t).Implements(unmarshalerType) || t.Kind() == reflect.Interface:
		d = jsonDecoder{}
	default:
		switch t.Kind() {
		case reflect.String, reflect.Bool, reflect.Int, reflect.Int64, reflect.Float64:
			d = scalarDecoder{}
		case reflect.Pointer:
			d = &pointerDecoder{}
		case reflect.Slice:
			d = &sliceDecoder{}
		case reflect.Map:
			if t.Key().Kind() != reflect.String {
				panic(fmt.Sprintf("load: cannot decode into %v", t))
			}
			if t.Elem().Kind() == reflect.Interface {
				d = jsonDecoder{} // free-form values: one JSON round trip
			} else {
				d = &mapDecoder{}
			}
		case reflect.Struct:
			d = &structDecoder{}
		default:
			panic(fmt.Sprintf("load: cannot decode into %v", t))
		}
	}
	building[t] = d
	switch d := d.(type) {
	case *pointerDecoder:
		d.elem = buildPlan(t.Elem(), building)
	case *sliceDecoder:
		d.elem = buildPlan(t.Elem(), building)
	case *mapDecoder:
		d.elem = buildPlan(t.Elem(), building)
	case *structDecoder:
		d.init(t, building)
	}
	return d
}

// jsonDecoder round-trips through JSON, as the whole file once did.
type jsonDecoder struct{}

func (jsonDecoder) decode(v cue.Value, rv reflect.Value) error {
	b, err := v.MarshalJSON()
	if err != nil {
		return err
	}
	return decodeJSON(b, rv.Addr().Interface())
}

type scalarDecoder struct{}

func (scalarDecoder) decode(v cue.Value, rv reflect.Value) error {
	switch rv.Kind() {
	case reflect.String:
		s, err := v.String()
		if err != nil {
			return err
		}
		rv.SetString(s)
	case reflect.Bool:
		b, err := v.Bool()
		if err != nil {
			return err
		}
		rv.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, err := v.Int64()
		if err != nil {
			return err
		}
		if rv.OverflowInt(n) {
			return fmt.Errorf("%v: %d overflows %v", v.Path(), n, rv.Type())
		}
		rv.SetInt(n)
	case reflect.Float64:
		f, err := v.Float64()
		if err != nil {
			return err
		}
		rv.SetFloat(f)
	}
	return nil
}

type pointerDecoder struct{ elem decoder }

func (d *pointerDecoder) decode(v cue.Value, rv reflect.Value) error {
	p := reflect.New(rv.Type().Elem())
	if err := d.elem.decode(v, p.Elem()); err != nil {
		return err
	}
	rv.Set(p)
	return nil
}

type sliceDecoder struct{ elem decoder }

func (d *sliceDecoder) decode(v cue.Value, rv reflect.Value) error {
	it, err := v.List()
	if err != nil {
		return err
	}
	s := reflect.MakeSlice(rv.Type(), 0, 4)
	for i := 0; it.Next(); i++ {
		s = reflect.Append(s, reflect.Zero(rv.Type().Elem()))
		if err := d.elem.decode(it.Value(), s.Index(i)); err != nil {
			return err
		}
	}
	rv.Set(s)
	return nil
}

type mapDecoder struct{ elem decoder }

func (d *mapDecoder) decode(v cue.Value, rv reflect.Value) error {
	it, err := v.Fields()
	if err != nil {
		return err
	}
	m := reflect.MakeMap(rv.Type())
	elem := reflect.New(rv.Type().Elem()).Elem()
	for it.Next() {
		elem.SetZero()
		if err := d.elem.decode(it.Value(), elem); err != nil {
			return err
		}
		m.SetMapIndex(reflect.ValueOf(it.Selector().Unquoted()).Convert(rv.Type().Key()), elem)
	}
	rv.Set(m)
	return nil
}

// structDecoder looks up each json-tagged field by name; fields that are
// absent (or only optional in the schema) keep their zero value.
type structDecoder struct {
	fields []structField
}

type structField struct {
	index int
	path  cue.Path
	dec   decoder
}

func (d *structDecoder) init(t reflect.Type, building map[reflect.Type]decoder) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" || name == "" {
			continue
		}
		d.fields = append(d.fields, structField{index: i, path: cue.MakePath(cue.Str(name)), dec: buildPlan(f.Type, building)})
	}
}

func (d *structDecoder) decode(v cue.Value, rv reflect.Value) error {
	v, _ = v.Default()
	if k := v.IncompleteKind(); k != cue.StructKind {
		return fmt.Errorf("%v: want a struct, found %v", v.Path(), k)
	}
	for _, f := range d.fields {
		fv := v.LookupPath(f.path)
		if !fv.Exists() {
			continue
		}
		if err := f.dec.decode(fv, rv.Field(f.index)); err != nil {
			return err
		}
	}
	return nil
}
