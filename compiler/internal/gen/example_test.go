package gen_test

import (
	"fmt"
	"log"
	"os"

	"github.com/fleetc/fleetc/compiler/internal/gen"
)

func ExampleGenerate() {
	dir, err := os.MkdirTemp("", "fleet")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	st, err := gen.Generate(dir, gen.Options{Stores: 2000, Apps: 12, Seed: 1})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.Stores, "stores,", st.Apps, "apps,", st.Groups, "groups")
	for _, r := range st.RingSizes {
		fmt.Printf("%-7s %4d\n", r.Name, r.Stores)
	}
	// Output:
	// 2000 stores, 12 apps, 31 groups
	// lab        1
	// canary    20
	// pilot    100
	// wave-1   300
	// chain   1579
}
