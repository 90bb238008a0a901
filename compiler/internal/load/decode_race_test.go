package load

import (
	"reflect"
	"sync"
	"testing"

	"cuelang.org/go/cue/cuecontext"
)

// Workers decode concurrently and the first of them builds each type's
// plan: no worker may see a plan before its element plans are filled in.
// (Run with -race; before plans were published complete, a second worker
// could read a struct plan with no fields and decode nothing.)
func TestPlanForConcurrent(t *testing.T) {
	type inner struct {
		Name string `json:"name"`
	}
	type outer struct {
		Teams map[string]*inner `json:"teams"`
		List  []inner           `json:"list"`
	}
	src := `teams: ops: name: "ops", list: [{name: "a"}, {name: "b"}]`
	var wg sync.WaitGroup
	errs := make(chan string, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := cuecontext.New().CompileString(src)
			var got outer
			if err := decodeValue(v, reflect.ValueOf(&got).Elem()); err != nil {
				errs <- err.Error()
				return
			}
			if got.Teams["ops"] == nil || got.Teams["ops"].Name != "ops" || len(got.List) != 2 || got.List[1].Name != "b" {
				errs <- "decoded " + reflect.ValueOf(got).String()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
