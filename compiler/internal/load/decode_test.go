package load

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"cuelang.org/go/cue/parser"
)

// TestDecodeValueMatchesJSON decodes every valid file of the sample and a
// generated fleet both ways, through decodeValue and through MarshalJSON
// and encoding/json (what the loader once did), and wants identical Go
// values: same defaults, same empty-but-not-nil lists and maps, same
// json.Number in free-form values.
func TestDecodeValueMatchesJSON(t *testing.T) {
	eachFleetFile(t, func(t *testing.T, s *schema, rel string, src []byte) {
		f, err := parser.ParseFile(rel, src)
		if err != nil {
			t.Fatal(err)
		}
		v, diags, _ := validate(s, rel, src, f)
		if len(diags) != 0 {
			t.Fatalf("%s: %v", rel, diags)
		}
		var viaValue, viaJSON fileJSON
		if err := decodeValue(v, reflect.ValueOf(&viaValue).Elem()); err != nil {
			t.Fatalf("%s: decodeValue: %v", rel, err)
		}
		b, err := v.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeJSON(b, &viaJSON); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(viaValue, viaJSON) {
			t.Errorf("%s: decodeValue and JSON differ", rel)
		}
	})
}

// eachFleetFile calls fn with every fleet file of the sample and of a
// generated fleet, in a subtest per fleet, with that fleet's schema.
func eachFleetFile(t *testing.T, fn func(t *testing.T, s *schema, rel string, src []byte)) {
	for name, root := range map[string]string{"sample": "../../..", "generated": generated(t)} {
		t.Run(name, func(t *testing.T) {
			s, diags, err := loadSchema(root)
			if err != nil || len(diags) != 0 {
				t.Fatalf("schema: %v %v", err, diags)
			}
			files, err := Files(root)
			if err != nil {
				t.Fatal(err)
			}
			for _, rel := range files {
				src, err := os.ReadFile(filepath.Join(root, rel))
				if err != nil {
					t.Fatal(err)
				}
				fn(t, s, rel, src)
			}
		})
	}
}
