package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"cuelang.org/go/cue"
	"cuelang.org/go/cue/cuecontext"
	"cuelang.org/go/cue/load"
)

// fleetKinds are #File's top-level fields.
var fleetKinds = []string{"settings", "stores", "groups", "apps", "rings", "freezes", "overrides", "teams"}

// CUEWhole evaluates the whole fleet as one CUE value, as `cue export`
// of one package would: every file's data filled into one value in one
// context, unified with #File, validated concrete and exported as JSON.
// (Files are compiled one by one first only because their hidden helper
// fields would clash in one package; the evaluation that costs is the
// single unification.) It returns the size of the exported JSON.
func CUEWhole(root string) (int, error) {
	ctx := cuecontext.New()
	schemaInst := load.Instances([]string{"."}, &load.Config{Dir: filepath.Join(root, "schemas")})
	if err := schemaInst[0].Err; err != nil {
		return 0, fmt.Errorf("load schemas: %w", err)
	}
	schema := ctx.BuildInstance(schemaInst[0])
	if err := schema.Err(); err != nil {
		return 0, fmt.Errorf("build schemas: %w", err)
	}
	whole := ctx.CompileString("{}")
	files, err := fleetFiles(root)
	if err != nil {
		return 0, err
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return 0, err
		}
		v := ctx.CompileBytes(b, cue.Filename(f))
		if err := v.Err(); err != nil {
			return 0, fmt.Errorf("compile %s: %w", f, err)
		}
		for _, k := range fleetKinds {
			if part := v.LookupPath(cue.ParsePath(k)); part.Exists() {
				whole = whole.FillPath(cue.ParsePath(k), part)
			}
		}
	}
	whole = schema.LookupPath(cue.ParsePath("#File")).Unify(whole)
	if err := whole.Validate(cue.Concrete(true)); err != nil {
		return 0, fmt.Errorf("validate fleet: %w", err)
	}
	out, err := whole.MarshalJSON()
	if err != nil {
		return 0, fmt.Errorf("export fleet: %w", err)
	}
	return len(out), nil
}

func fleetFiles(root string) ([]string, error) {
	var files []string
	if _, err := os.Stat(filepath.Join(root, "fleet.cue")); err == nil {
		files = append(files, "fleet.cue")
	}
	for _, dir := range []string{"inventory", "apps", "rings"} {
		err := filepath.WalkDir(filepath.Join(root, dir), func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() && strings.HasSuffix(p, ".cue") {
				rel, _ := filepath.Rel(root, p)
				files = append(files, filepath.ToSlash(rel))
			}
			return err
		})
		if err != nil {
			return nil, err
		}
	}
	return files, nil
}
