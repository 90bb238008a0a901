package github

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	gh "github.com/google/go-github/v89/github"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
)

// Forge is a GitHub repository.
type Forge struct {
	client *gh.Client
	owner  string
	repo   string
	token  string
}

var _ forge.Forge = (*Forge)(nil)

// New returns the forge for repoURL (https://github.com/owner/repo, or a
// GitHub Enterprise Server URL https://ghe.example.com/owner/repo whose API
// is at /api/v3). token is sent as a bearer token.
func New(repoURL, token string, opts ...forgehttp.Option) (*Forge, error) {
	r, err := forgehttp.ParseRepoURL(repoURL, false)
	if err != nil {
		return nil, err
	}
	if r.Prefix != "" {
		return nil, fmt.Errorf("repository URL %q: want https://host/owner/repo", forgehttp.Redact(repoURL))
	}
	cfg := forgehttp.Apply(opts)
	api := cfg.APIURL
	switch {
	case api != "":
	case r.Host == "github.com" || r.Host == "www.github.com":
		api = "https://api.github.com/"
	default:
		api = r.Origin() + "/api/v3/"
	}
	if !strings.HasSuffix(api, "/") {
		api += "/"
	}
	client, err := gh.NewClient(gh.WithHTTPClient(cfg.Client), gh.WithAuthToken(token),
		gh.WithURLs(&api, &api), gh.WithDisableRateLimitCheck())
	if err != nil {
		return nil, fmt.Errorf("github client: %w", err)
	}
	return &Forge{client: client, owner: r.Owner(), repo: r.Name(), token: token}, nil
}

// Name implements forge.Forge.
func (f *Forge) Name() string { return "github" }

// EnsureMR implements forge.Forge: it looks for the open pull request from
// mr.Head into mr.Base and edits it, or creates one.
func (f *Forge) EnsureMR(ctx context.Context, mr forge.MR) (*forge.MRInfo, error) {
	existing, err := f.findOpen(ctx, mr.Head, mr.Base)
	if err != nil {
		return nil, err
	}
	if existing == nil {
		pr, resp, err := f.client.PullRequests.Create(ctx, f.owner, f.repo, &gh.NewPullRequest{
			Title: &mr.Title, Head: &mr.Head, Base: &mr.Base, Body: &mr.Body,
		})
		if err == nil {
			info := info(pr)
			info.Created = true
			return info, nil
		}
		// A create that raced another (or a retried create that went
		// through) answers 422 "A pull request already exists".
		if resp == nil || resp.StatusCode != http.StatusUnprocessableEntity {
			return nil, f.apiErr(err)
		}
		if existing, _ = f.findOpen(ctx, mr.Head, mr.Base); existing == nil {
			return nil, f.apiErr(err)
		}
	}
	if existing.GetTitle() == mr.Title && existing.GetBody() == mr.Body {
		return info(existing), nil
	}
	pr, _, err := f.client.PullRequests.Edit(ctx, f.owner, f.repo, existing.GetNumber(), &gh.PullRequest{Title: &mr.Title, Body: &mr.Body})
	if err != nil {
		return nil, f.apiErr(err)
	}
	return info(pr), nil
}

func (f *Forge) findOpen(ctx context.Context, head, base string) (*gh.PullRequest, error) {
	opts := &gh.PullRequestListOptions{State: "open", Head: f.owner + ":" + head, Base: base, ListOptions: gh.ListOptions{PerPage: 100}}
	for {
		prs, resp, err := f.client.PullRequests.List(ctx, f.owner, f.repo, opts)
		if err != nil {
			return nil, f.apiErr(err)
		}
		for _, pr := range prs {
			if pr.GetHead().GetRef() == head && pr.GetBase().GetRef() == base {
				return pr, nil
			}
		}
		if resp.NextPage == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

func info(pr *gh.PullRequest) *forge.MRInfo {
	state := pr.GetState()
	if pr.GetMerged() || pr.MergedAt != nil {
		state = "merged"
	}
	return &forge.MRInfo{Number: pr.GetNumber(), URL: pr.GetHTMLURL(), HeadSHA: pr.GetHead().GetSHA(), State: state}
}

// GetMR implements forge.Forge.
func (f *Forge) GetMR(ctx context.Context, number int) (*forge.MRInfo, error) {
	pr, _, err := f.client.PullRequests.Get(ctx, f.owner, f.repo, number)
	if err != nil {
		return nil, f.apiErr(err)
	}
	return info(pr), nil
}

// Approvals implements forge.Forge: every page of reviews, the latest
// approve/request-changes/dismissed verdict per user (a later comment does
// not undo an approval, as on GitHub), with the commit it was given on.
func (f *Forge) Approvals(ctx context.Context, number int) ([]forge.Approval, error) {
	latest := map[string]forge.Approval{}
	opts := &gh.ListOptions{PerPage: 100}
	for {
		reviews, resp, err := f.client.PullRequests.ListReviews(ctx, f.owner, f.repo, number, opts)
		if err != nil {
			return nil, f.apiErr(err)
		}
		for _, r := range reviews {
			a := forge.Approval{User: r.GetUser().GetLogin(), Commit: r.GetCommitID(), State: reviewState(r.GetState()), At: r.GetSubmittedAt().Time}
			if a.User == "" || a.State == "" {
				continue
			}
			prev, seen := latest[a.User]
			if seen && a.State == "commented" && prev.State != "commented" {
				continue
			}
			latest[a.User] = a // reviews come oldest first
		}
		if resp.NextPage == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	return sortApprovals(latest), nil
}

func reviewState(s string) string {
	switch s {
	case "APPROVED":
		return "approved"
	case "CHANGES_REQUESTED":
		return "changes_requested"
	case "COMMENTED":
		return "commented"
	case "DISMISSED":
		return "dismissed"
	}
	return "" // PENDING: a draft review nobody else sees
}

func sortApprovals(m map[string]forge.Approval) []forge.Approval {
	out := make([]forge.Approval, 0, len(m))
	for _, a := range m {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b forge.Approval) int { return strings.Compare(a.User, b.User) })
	return out
}

// SetStatus implements forge.Forge.
func (f *Forge) SetStatus(ctx context.Context, sha string, st forge.Status) error {
	desc := truncate(st.Description, 140)
	state := string(st.State)
	s := gh.RepoStatus{State: &state, Context: &st.Context, Description: &desc}
	if st.TargetURL != "" {
		s.TargetURL = &st.TargetURL
	}
	if _, _, err := f.client.Repositories.CreateStatus(ctx, f.owner, f.repo, sha, s); err != nil {
		return f.apiErr(err)
	}
	return nil
}

// Statuses returns the latest status per context on sha.
func (f *Forge) Statuses(ctx context.Context, sha string) ([]forge.Status, error) {
	seen := map[string]bool{}
	var out []forge.Status
	opts := &gh.ListOptions{PerPage: 100}
	for {
		sts, resp, err := f.client.Repositories.ListStatuses(ctx, f.owner, f.repo, sha, opts)
		if err != nil {
			return nil, f.apiErr(err)
		}
		for _, s := range sts { // newest first
			if seen[s.GetContext()] {
				continue
			}
			seen[s.GetContext()] = true
			out = append(out, forge.Status{Context: s.GetContext(), State: forge.StatusState(s.GetState()), Description: s.GetDescription(), TargetURL: s.GetTargetURL()})
		}
		if resp.NextPage == 0 {
			return out, nil
		}
		opts.Page = resp.NextPage
	}
}

// Merge implements forge.Forge: GitHub refuses with 409 when the head is
// no longer sha and 405 when the pull request is not mergeable.
func (f *Forge) Merge(ctx context.Context, number int, sha string) error {
	res, _, err := f.client.PullRequests.Merge(ctx, f.owner, f.repo, number, "", &gh.PullRequestOptions{SHA: sha, MergeMethod: "merge"})
	if err != nil {
		return f.apiErr(err)
	}
	if !res.GetMerged() {
		return &forge.APIError{Forge: "github", Method: http.MethodPut, Path: fmt.Sprintf("/repos/%s/%s/pulls/%d/merge", f.owner, f.repo, number), Status: http.StatusOK, Message: f.scrub(res.GetMessage())}
	}
	return nil
}

// ReadFile returns path at ref through the contents API's raw media type
// (files up to 100 MB).
func (f *Forge) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	u := fmt.Sprintf("repos/%s/%s/contents/%s?ref=%s", url.PathEscape(f.owner), url.PathEscape(f.repo), escapePath(path), url.QueryEscape(ref))
	req, err := f.client.NewRequest(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("github read %s: %w", path, err)
	}
	req.Header.Set("Accept", "application/vnd.github.raw+json")
	resp, err := f.client.BareDo(req)
	if err != nil {
		return nil, f.apiErr(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("github read %s: %w", path, err)
	}
	return b, nil
}

func escapePath(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		segs[i] = url.PathEscape(s)
	}
	return strings.Join(segs, "/")
}

// apiErr turns go-github's errors into *forge.APIError, token scrubbed.
func (f *Forge) apiErr(err error) error {
	var er *gh.ErrorResponse
	if errors.As(err, &er) && er.Response != nil {
		msg := er.Message
		for _, e := range er.Errors {
			if e.Message != "" {
				msg += ": " + e.Message
			}
		}
		return &forge.APIError{Forge: "github", Method: er.Response.Request.Method, Path: er.Response.Request.URL.Path, Status: er.Response.StatusCode, Message: f.scrub(msg)}
	}
	var rl *gh.RateLimitError
	if errors.As(err, &rl) && rl.Response != nil {
		return &forge.APIError{Forge: "github", Method: rl.Response.Request.Method, Path: rl.Response.Request.URL.Path, Status: rl.Response.StatusCode, Message: f.scrub(rl.Message) + " (rate limit resets " + rl.Rate.Reset.Format(time.RFC3339) + ")"}
	}
	var ab *gh.AbuseRateLimitError
	if errors.As(err, &ab) && ab.Response != nil {
		return &forge.APIError{Forge: "github", Method: ab.Response.Request.Method, Path: ab.Response.Request.URL.Path, Status: ab.Response.StatusCode, Message: f.scrub(ab.Message)}
	}
	return fmt.Errorf("github: %w", err) // transport errors: the token is only ever in a header
}

func (f *Forge) scrub(s string) string { return forgehttp.Scrub(s, f.token) }

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
