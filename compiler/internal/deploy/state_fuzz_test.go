package deploy

import (
	"bytes"
	"testing"
)

// FuzzParseState: whatever state.json holds, ParseState never panics, and
// a state it accepts is written back deterministically: marshal, parse,
// marshal gives the same bytes (a compile's state is always readable by
// the next one).
func FuzzParseState(f *testing.F) {
	f.Add([]byte(`{"schema":3,"variants":{},"profiles":{},"stores":{},"rollouts":{}}`))
	f.Add([]byte("{\"schema\":3,\n\"variants\":{\n\"pos@1.0.0-aaaaaaaaaa\":{\"app\":\"pos\",\"version\":\"1.0.0\",\"namespace\":\"pos\"}\n},\n\"profiles\":{\n\"main-1\":{\"ring\":\"main\",\"apps\":{\"pos\":\"pos@1.0.0-aaaaaaaaaa\"}}\n},\n\"stores\":{\n\"s-1\":\"main-1\"\n},\n\"rollouts\":{},\n\"unheld\":{\"s-1\":[\"pos@1.0.0-aaaaaaaaaa\"]},\n\"halts\":{\"h\":{\"apps\":[\"pos\"],\"reason\":\"r\",\"ticket\":\"T\",\"by\":\"me\",\"since\":\"2026-11-24T01:00:00Z\"}}}\n"))
	f.Add([]byte(`{"schema":1,"variants":{},"stores":{"s-1":{"ring":"main","apps":{}}}}`))
	f.Add([]byte(`{"schema":2,"variants":{},"profiles":{"p":null},"stores":{"s":"p"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		st, err := ParseState(data)
		if err != nil {
			return
		}
		b1, err := st.Marshal()
		if err != nil {
			return // e.g. stores of one profile that differ: refused, not written
		}
		st2, err := ParseState(b1)
		if err != nil {
			t.Fatalf("fleetc cannot read the state it wrote: %v\n%s", err, b1)
		}
		b2, err := st2.Marshal()
		if err != nil || !bytes.Equal(b1, b2) {
			t.Fatalf("state not stable through a write and a read (%v):\n%s\n---\n%s", err, b1, b2)
		}
	})
}
