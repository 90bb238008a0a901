package feedback

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/fleetc/fleetc/agent/report"
)

// childEnv makes the test binary a collector process (TestMain): the
// crash test kills it with SIGKILL.
const childEnv = "FLEETC_TEST_COLLECTOR_CHILD"

type childConfig struct{ Root, DSN, AddrFile string }

func collectorChild() int {
	var cfg childConfig
	if err := json.Unmarshal([]byte(os.Getenv(childEnv)), &cfg); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	err := Serve(context.Background(), ServeOptions{Listen: "127.0.0.1:0", DSN: cfg.DSN, Root: cfg.Root,
		Server: ServerOptions{Rate: 1e6, Burst: 1e6},
		DB:     DBOptions{History: 1 << 20},
		Listening: func(addr string) {
			tmp := cfg.AddrFile + ".tmp"
			if os.WriteFile(tmp, []byte(addr), 0o644) == nil {
				os.Rename(tmp, cfg.AddrFile)
			}
		}})
	fmt.Fprintln(os.Stderr, err)
	return 1
}

// startChild starts a collector process and returns it with its URL.
func startChild(t *testing.T, cfg childConfig) (*exec.Cmd, string) {
	t.Helper()
	os.Remove(cfg.AddrFile)
	b, _ := json.Marshal(cfg)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+string(b))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if addr, err := os.ReadFile(cfg.AddrFile); err == nil {
			return cmd, "http://" + string(addr)
		}
		time.Sleep(20 * time.Millisecond)
	}
	cmd.Process.Kill()
	t.Fatal("the collector did not start")
	return nil, ""
}

// TestKill9LosesNoAcknowledgedReport: stores send as fast as they can, each
// report a change (so each is a history row); the collector is killed with
// SIGKILL at a random moment; after a restart every report that was
// answered 200 is in the database.
func TestKill9LosesNoAcknowledgedReport(t *testing.T) {
	forEachDB(t, func(t *testing.T, dsn string) {
		const stores = 30
		root := t.TempDir()
		writeFleet(t, root, stores)
		cfg := childConfig{Root: root, DSN: dsn, AddrFile: filepath.Join(t.TempDir(), "addr")}
		client := &http.Client{Timeout: 10 * time.Second}
		acked := map[string][]uint64{}
		var mu sync.Mutex
		next := map[string]uint64{}
		for round := range 3 {
			cmd, url := startChild(t, cfg)
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for i := range stores {
				id := fmt.Sprintf("s-%04d", i+1)
				wg.Add(1)
				go func(seq uint64) {
					defer wg.Done()
					for ; ; seq++ {
						select {
						case <-stop:
							return
						default:
						}
						r := mkReport(id, seq, time.Now(), "1.0.0", fmt.Sprintf("r%d", seq))
						b := body(t, r)
						req, _ := http.NewRequest(http.MethodPost, url+"/v1/reports", bytes.NewReader(b))
						req.Header.Set(report.HeaderStore, id)
						req.Header.Set(report.HeaderSignature, report.Sign(agentKey(id), b))
						resp, err := client.Do(req)
						if err != nil {
							mu.Lock()
							next[id] = seq + 1
							mu.Unlock()
							return // the collector died
						}
						resp.Body.Close()
						if resp.StatusCode == 200 {
							mu.Lock()
							acked[id] = append(acked[id], seq)
							mu.Unlock()
						}
					}
				}(max(next[id], 1))
			}
			time.Sleep(time.Duration(300+rand.IntN(700)) * time.Millisecond)
			cmd.Process.Kill() // SIGKILL
			cmd.Wait()
			close(stop)
			wg.Wait()
			t.Logf("round %d: killed after %d acknowledged reports in all", round, count(acked))
		}
		if count(acked) < stores {
			t.Fatalf("only %d reports acknowledged: the test proves nothing", count(acked))
		}
		db := mustOpen(t, dsn, DBOptions{History: 1 << 20})
		for id, seqs := range acked {
			h, err := db.History(context.Background(), id)
			if err != nil {
				t.Fatal(err)
			}
			have := map[uint64]bool{}
			for _, r := range h {
				have[r.Seq] = true
			}
			for _, s := range seqs {
				if !have[s] {
					t.Errorf("store %s: report %d was acknowledged and is not in the database", id, s)
				}
			}
		}
	})
}

func count(m map[string][]uint64) int {
	n := 0
	for _, v := range m {
		n += len(v)
	}
	return n
}
