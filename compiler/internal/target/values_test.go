package target

import (
	"encoding/json"
	"maps"
	"testing"
)

func TestMergeLayers(t *testing.T) {
	obj := func(s string) map[string]any {
		var m map[string]any
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			panic(err)
		}
		return m
	}
	tests := []struct {
		name   string
		layers []layer
		values string
		prov   map[string]string
	}{
		{
			name:   "maps merge, scalars replace",
			layers: []layer{{"app", obj(`{"ui":{"a":1,"b":2}}`)}, {"group:g", obj(`{"ui":{"b":3}}`)}},
			values: `{"ui":{"a":1,"b":3}}`,
			prov:   map[string]string{"ui.a": "app", "ui.b": "group:g"},
		},
		{
			name:   "lists replace as one leaf",
			layers: []layer{{"app", obj(`{"l":[1,2,3]}`)}, {"store", obj(`{"l":[4]}`)}},
			values: `{"l":[4]}`,
			prov:   map[string]string{"l": "store"},
		},
		{
			name:   "map replaces scalar",
			layers: []layer{{"app", obj(`{"x":1}`)}, {"group:g", obj(`{"x":{"y":2}}`)}},
			values: `{"x":{"y":2}}`,
			prov:   map[string]string{"x.y": "group:g"},
		},
		{
			name:   "scalar replaces map and forgets its leaves",
			layers: []layer{{"app", obj(`{"x":{"y":1,"z":{"w":2}},"xy":3}`)}, {"store", obj(`{"x":"flat"}`)}},
			values: `{"x":"flat","xy":3}`,
			prov:   map[string]string{"x": "store", "xy": "app"},
		},
		{
			name:   "empty map is a leaf until filled",
			layers: []layer{{"app", obj(`{"e":{}}`)}, {"group:g", obj(`{"e":{}}`)}, {"group:h", obj(`{"f":{}}`)}, {"store", obj(`{"f":{"k":1}}`)}},
			values: `{"e":{},"f":{"k":1}}`,
			prov:   map[string]string{"e": "group:g", "f.k": "store"},
		},
		{
			name:   "odd keys are quoted",
			layers: []layer{{"app", obj(`{"a.b":{"":1,"c d":2}}`)}},
			values: `{"a.b":{"":1,"c d":2}}`,
			prov:   map[string]string{`"a.b".""`: "app", `"a.b"."c d"`: "app"},
		},
		{
			name:   "nil layers",
			layers: []layer{{"app", nil}, {"store", nil}},
			values: `{}`,
			prov:   map[string]string{},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before, _ := json.Marshal(tc.layers[0].values)
			values, prov := mergeLayers(tc.layers)
			got, _ := json.Marshal(values)
			if string(got) != tc.values {
				t.Errorf("values %s, want %s", got, tc.values)
			}
			if !maps.Equal(prov, tc.prov) {
				t.Errorf("provenance %v, want %v", prov, tc.prov)
			}
			after, _ := json.Marshal(tc.layers[0].values)
			if string(before) != string(after) {
				t.Errorf("first layer modified: %s -> %s", before, after)
			}
		})
	}
}
