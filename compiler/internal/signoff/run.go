package signoff

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/fleetc/fleetc/compiler/internal/deploy"
	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/model"
)

// FileReader is a forge that can read a file at a commit (the github,
// gitlab and gitea forges can).
type FileReader interface {
	ReadFile(ctx context.Context, ref, path string) ([]byte, error)
}

// StatusLister is a forge that can list the latest status per context on
// a commit; auto-merge then also waits for other fleetc/* statuses.
type StatusLister interface {
	Statuses(ctx context.Context, sha string) ([]forge.Status, error)
}

// Options are the inputs of one sign-off check.
type Options struct {
	Forge  forge.Forge
	Number int           // merge request number
	Teams  []*model.Team // from the fleet: who belongs to which team
	// Dir, when set, is a checkout of the merge request's head; its HEAD
	// must be the head commit. Otherwise the decisions are read through
	// the forge (which must be a FileReader).
	Dir       string
	AutoMerge bool
	TargetURL string // link on the statuses (e.g. the CI run)
}

// Result is what the check found and did.
type Result struct {
	MR           *forge.MRInfo  `json:"mr"`
	Requirements *Requirements  `json:"requirements,omitempty"`
	Verdict      *Verdict       `json:"verdict,omitempty"`
	Problem      string         `json:"problem,omitempty"` // the decisions could not be read
	Statuses     []forge.Status `json:"statuses"`          // posted on the head
	Merged       bool           `json:"merged"`
	NotMerged    string         `json:"not_merged,omitempty"` // why auto-merge did not merge
}

// Green reports whether the head may merge: decisions read and signed off.
func (r *Result) Green() bool { return r.Problem == "" && r.Verdict != nil && r.Verdict.Green() }

// Run checks sign-off on a merge request's head, posts the summary
// statuses there and, with AutoMerge, merges when every fleetc status on
// the head is green. The merge names the head SHA, so a newer push wins.
func Run(ctx context.Context, opts Options) (*Result, error) {
	mr, err := opts.Forge.GetMR(ctx, opts.Number)
	if err != nil {
		return nil, fmt.Errorf("get merge request %d: %w", opts.Number, err)
	}
	if mr.State != "open" {
		return nil, fmt.Errorf("merge request %d is %s", opts.Number, mr.State)
	}
	if mr.HeadSHA == "" {
		return nil, fmt.Errorf("merge request %d: forge gave no head commit", opts.Number)
	}
	res := &Result{MR: mr}
	data, problem, err := readHeadDecisions(ctx, opts, mr.HeadSHA)
	if err != nil {
		return nil, err
	}
	if problem == "" {
		req, err := ReadDecisions(data)
		if err != nil {
			problem = deploy.DecisionsPath + ": " + err.Error()
		} else {
			res.Requirements = req
			approvals, err := opts.Forge.Approvals(ctx, opts.Number)
			if err != nil {
				return nil, fmt.Errorf("approvals of merge request %d: %w", opts.Number, err)
			}
			res.Verdict = Evaluate(mr.HeadSHA, req, approvals, opts.Teams)
			res.Statuses = Statuses(req, res.Verdict, opts.TargetURL)
		}
	}
	if problem != "" {
		res.Problem = problem
		res.Statuses = ErrorStatuses(problem, opts.TargetURL)
	}
	for _, st := range res.Statuses {
		if err := opts.Forge.SetStatus(ctx, mr.HeadSHA, st); err != nil {
			return nil, fmt.Errorf("set status %s: %w", st.Context, err)
		}
	}
	if opts.AutoMerge {
		if err := autoMerge(ctx, opts, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// readHeadDecisions returns the head's decisions, or a problem to report
// on the merge request when the head has none.
func readHeadDecisions(ctx context.Context, opts Options, head string) (io.Reader, string, error) {
	if opts.Dir != "" {
		got, err := gitHead(ctx, opts.Dir)
		if err != nil {
			return nil, "", err
		}
		if got != head {
			return nil, "", fmt.Errorf("--dir %s is at %s, the merge request head is %s", opts.Dir, short(got), short(head))
		}
		// A compile that died in this checkout is finished or undone first.
		if err := deploy.Recover(opts.Dir); err != nil {
			return nil, "", fmt.Errorf("read %s: %w", opts.Dir, err)
		}
		f, err := os.Open(filepath.Join(opts.Dir, filepath.FromSlash(deploy.DecisionsPath)))
		if errors.Is(err, os.ErrNotExist) {
			return nil, "no " + deploy.DecisionsPath + " at the head: not a fleetc deploy tree", nil
		}
		if err != nil {
			return nil, "", fmt.Errorf("read decisions: %w", err)
		}
		b, err := io.ReadAll(f) // the file is closed before the forge calls
		f.Close()
		if err != nil {
			return nil, "", fmt.Errorf("read decisions: %w", err)
		}
		return bytes.NewReader(b), "", nil
	}
	fr, ok := opts.Forge.(FileReader)
	if !ok {
		return nil, "", fmt.Errorf("the %s forge cannot read files: pass a checkout of the head", opts.Forge.Name())
	}
	b, err := fr.ReadFile(ctx, head, deploy.DecisionsPath)
	var ae *forge.APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		return nil, "no " + deploy.DecisionsPath + " at the head: not a fleetc deploy tree", nil
	}
	if err != nil {
		return nil, "", fmt.Errorf("read %s at %s: %w", deploy.DecisionsPath, short(head), err)
	}
	return bytes.NewReader(b), "", nil
}

func gitHead(ctx context.Context, dir string) (string, error) {
	cmd := exec.CommandContext(ctx, "git", "-C", dir, "rev-parse", "HEAD")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("git rev-parse HEAD in %s: %v: %s", dir, err, strings.TrimSpace(stderr.String()))
	}
	return strings.TrimSpace(string(out)), nil
}

// autoMerge merges when the check is green and every other fleetc/* status
// on the head is success. A refusal because the head moved (409) or the
// merge request cannot merge (405) is a result, not an error.
func autoMerge(ctx context.Context, opts Options, res *Result) error {
	if !res.Green() {
		res.NotMerged = "sign-off is not complete"
		return nil
	}
	if sl, ok := opts.Forge.(StatusLister); ok {
		sts, err := sl.Statuses(ctx, res.MR.HeadSHA)
		if err != nil {
			return fmt.Errorf("statuses of %s: %w", short(res.MR.HeadSHA), err)
		}
		for _, st := range sts {
			if strings.HasPrefix(st.Context, "fleetc/") && st.State != forge.Success {
				res.NotMerged = fmt.Sprintf("status %s is %s", st.Context, st.State)
				return nil
			}
		}
	}
	err := opts.Forge.Merge(ctx, res.MR.Number, res.MR.HeadSHA)
	var ae *forge.APIError
	if errors.As(err, &ae) && (ae.Status == http.StatusConflict || ae.Status == http.StatusMethodNotAllowed || ae.Status == http.StatusUnprocessableEntity) {
		res.NotMerged = fmt.Sprintf("%s refused the merge (%d): %s", ae.Forge, ae.Status, ae.Message)
		return nil
	}
	if err != nil {
		return fmt.Errorf("merge %d: %w", res.MR.Number, err)
	}
	res.Merged = true
	return nil
}
