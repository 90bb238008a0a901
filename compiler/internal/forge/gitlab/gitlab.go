package gitlab

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
)

// Forge is a GitLab project.
type Forge struct {
	client  *gl.Client
	project string // full path, e.g. retail/platform/deploy
	token   string
}

var _ forge.Forge = (*Forge)(nil)

// New returns the forge for repoURL (https://gitlab.com/group/sub/project,
// or a self-managed host); the API is at /api/v4 on the same origin. token
// is sent in the PRIVATE-TOKEN header.
func New(repoURL, token string, opts ...forgehttp.Option) (*Forge, error) {
	r, err := forgehttp.ParseRepoURL(repoURL, true)
	if err != nil {
		return nil, err
	}
	cfg := forgehttp.Apply(opts)
	api := cfg.APIURL
	if api == "" {
		api = r.Origin() + "/api/v4"
	}
	// The retrying transport underneath replaces client-go's own retries.
	client, err := gl.NewClient(token, gl.WithBaseURL(api), gl.WithHTTPClient(cfg.Client), gl.WithoutRetries())
	if err != nil {
		return nil, fmt.Errorf("gitlab client: %w", err)
	}
	return &Forge{client: client, project: r.Path, token: token}, nil
}

// Name implements forge.Forge.
func (f *Forge) Name() string { return "gitlab" }

// EnsureMR implements forge.Forge.
func (f *Forge) EnsureMR(ctx context.Context, mr forge.MR) (*forge.MRInfo, error) {
	existing, err := f.findOpen(ctx, mr.Head, mr.Base)
	if err != nil {
		return nil, err
	}
	if existing == nil {
		m, resp, err := f.client.MergeRequests.CreateMergeRequest(f.project, &gl.CreateMergeRequestOptions{
			Title: &mr.Title, Description: &mr.Body, SourceBranch: &mr.Head, TargetBranch: &mr.Base,
		}, gl.WithContext(ctx))
		if err == nil {
			info := info(&m.BasicMergeRequest)
			info.Created = true
			return info, nil
		}
		// "Another open merge request already exists for this source branch"
		if resp == nil || resp.StatusCode != http.StatusConflict {
			return nil, f.apiErr(resp, err)
		}
		if existing, _ = f.findOpen(ctx, mr.Head, mr.Base); existing == nil {
			return nil, f.apiErr(resp, err)
		}
	}
	if existing.Title == mr.Title && existing.Description == mr.Body {
		return info(existing), nil
	}
	m, resp, err := f.client.MergeRequests.UpdateMergeRequest(f.project, existing.IID, &gl.UpdateMergeRequestOptions{
		Title: &mr.Title, Description: &mr.Body,
	}, gl.WithContext(ctx))
	if err != nil {
		return nil, f.apiErr(resp, err)
	}
	return info(&m.BasicMergeRequest), nil
}

func (f *Forge) findOpen(ctx context.Context, head, base string) (*gl.BasicMergeRequest, error) {
	opened := "opened"
	opts := &gl.ListProjectMergeRequestsOptions{State: &opened, SourceBranch: &head, TargetBranch: &base, ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		mrs, resp, err := f.client.MergeRequests.ListProjectMergeRequests(f.project, opts, gl.WithContext(ctx))
		if err != nil {
			return nil, f.apiErr(resp, err)
		}
		for _, m := range mrs {
			if m.SourceBranch == head && m.TargetBranch == base && m.State == opened {
				return m, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

func info(m *gl.BasicMergeRequest) *forge.MRInfo {
	state := m.State
	switch state {
	case "opened":
		state = "open"
	case "locked":
		state = "closed"
	}
	return &forge.MRInfo{Number: int(m.IID), URL: m.WebURL, HeadSHA: m.SHA, State: state}
}

// GetMR implements forge.Forge.
func (f *Forge) GetMR(ctx context.Context, number int) (*forge.MRInfo, error) {
	m, resp, err := f.client.MergeRequests.GetMergeRequest(f.project, int64(number), nil, gl.WithContext(ctx))
	if err != nil {
		return nil, f.apiErr(resp, err)
	}
	return info(&m.BasicMergeRequest), nil
}

// Approvals implements forge.Forge.
//
// GitLab's approvals carry neither a commit nor a time, so staleness is
// decided from the project's "reset approvals on push" setting: when it is
// on, GitLab removes every approval as soon as a commit is pushed, so the
// approvals it lists were all given on the current head and get Commit set
// to the head SHA. When it is off (or the setting cannot be read, e.g. on a
// tier without it) Commit stays "" and the sign-off gate, which only counts
// approvals on the head, counts none: it fails closed.
func (f *Forge) Approvals(ctx context.Context, number int) ([]forge.Approval, error) {
	m, resp, err := f.client.MergeRequests.GetMergeRequest(f.project, int64(number), nil, gl.WithContext(ctx))
	if err != nil {
		return nil, f.apiErr(resp, err)
	}
	conf, resp, err := f.client.MergeRequestApprovals.GetConfiguration(f.project, int64(number), gl.WithContext(ctx))
	if err != nil {
		return nil, f.apiErr(resp, err)
	}
	commit := ""
	if reset, err := f.resetsOnPush(ctx); err != nil {
		return nil, err
	} else if reset {
		commit = m.SHA
	}
	var out []forge.Approval
	for _, a := range conf.ApprovedBy {
		if a == nil || a.User == nil || a.User.Username == "" {
			continue
		}
		out = append(out, forge.Approval{User: a.User.Username, Commit: commit, State: "approved"})
	}
	slices.SortFunc(out, func(a, b forge.Approval) int { return strings.Compare(a.User, b.User) })
	return out, nil
}

// resetsOnPush reads the project's approval settings; a 403/404 (tier
// without the setting) reads as false.
func (f *Forge) resetsOnPush(ctx context.Context) (bool, error) {
	pa, resp, err := f.client.Projects.GetApprovalConfiguration(f.project, gl.WithContext(ctx))
	if err != nil {
		if resp != nil && (resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusForbidden) {
			return false, nil
		}
		return false, f.apiErr(resp, err)
	}
	return pa.ResetApprovalsOnPush, nil
}

// SetStatus implements forge.Forge. GitLab's states are pending, running,
// success, failed and canceled: failure and error both post failed.
func (f *Forge) SetStatus(ctx context.Context, sha string, st forge.Status) error {
	state := gl.Pending
	switch st.State {
	case forge.Success:
		state = gl.Success
	case forge.Failure, forge.Error:
		state = gl.Failed
	}
	desc := truncate(st.Description, 255)
	opts := &gl.SetCommitStatusOptions{State: state, Name: &st.Context, Description: &desc}
	if st.TargetURL != "" {
		opts.TargetURL = &st.TargetURL
	}
	if _, resp, err := f.client.Commits.SetCommitStatus(f.project, sha, opts, gl.WithContext(ctx)); err != nil {
		return f.apiErr(resp, err)
	}
	return nil
}

// Statuses returns the latest status per name on sha.
func (f *Forge) Statuses(ctx context.Context, sha string) ([]forge.Status, error) {
	latest := map[string]*gl.CommitStatus{}
	var order []string
	opts := &gl.GetCommitStatusesOptions{ListOptions: gl.ListOptions{PerPage: 100}}
	for {
		sts, resp, err := f.client.Commits.GetCommitStatuses(f.project, sha, opts, gl.WithContext(ctx))
		if err != nil {
			return nil, f.apiErr(resp, err)
		}
		for _, s := range sts {
			prev, ok := latest[s.Name]
			if !ok {
				order = append(order, s.Name)
			}
			if !ok || s.ID > prev.ID {
				latest[s.Name] = s
			}
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	out := make([]forge.Status, 0, len(order))
	for _, name := range order {
		s := latest[name]
		out = append(out, forge.Status{Context: s.Name, State: fromState(s.Status), Description: s.Description, TargetURL: s.TargetURL})
	}
	return out, nil
}

func fromState(s string) forge.StatusState {
	switch s {
	case "success":
		return forge.Success
	case "failed":
		return forge.Failure
	case "canceled", "skipped":
		return forge.Error
	}
	return forge.Pending
}

// Merge implements forge.Forge: GitLab answers 409 when sha is no longer
// the source branch's head and 405/422 when it cannot merge.
func (f *Forge) Merge(ctx context.Context, number int, sha string) error {
	_, resp, err := f.client.MergeRequests.AcceptMergeRequest(f.project, int64(number), &gl.AcceptMergeRequestOptions{SHA: &sha}, gl.WithContext(ctx))
	if err != nil {
		return f.apiErr(resp, err)
	}
	return nil
}

// ReadFile returns path at ref from the raw file endpoint.
func (f *Forge) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	b, resp, err := f.client.RepositoryFiles.GetRawFile(f.project, path, &gl.GetRawFileOptions{Ref: &ref}, gl.WithContext(ctx))
	if err != nil {
		return nil, f.apiErr(resp, err)
	}
	return b, nil
}

// apiErr turns client-go's errors into *forge.APIError, token scrubbed.
// client-go answers a 404 with the bare gl.ErrNotFound; resp still says
// which request it was.
func (f *Forge) apiErr(resp *gl.Response, err error) error {
	var er *gl.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		msg := strings.TrimSuffix(strings.TrimPrefix(er.Message, "{message: "), "}")
		return &forge.APIError{Forge: "gitlab", Method: er.Response.Request.Method, Path: er.Response.Request.URL.EscapedPath(), Status: er.Response.StatusCode, Message: forgehttp.Scrub(msg, f.token)}
	}
	if resp != nil && resp.Response != nil && resp.StatusCode >= 400 {
		return &forge.APIError{Forge: "gitlab", Method: resp.Request.Method, Path: resp.Request.URL.EscapedPath(), Status: resp.StatusCode, Message: forgehttp.Scrub(err.Error(), f.token)}
	}
	return fmt.Errorf("gitlab: %w", err) // transport errors: the token is only ever in a header
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
