package gitea

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	sdk "code.gitea.io/sdk/gitea"

	"github.com/fleetc/fleetc/compiler/internal/forge"
	"github.com/fleetc/fleetc/compiler/internal/forge/forgehttp"
)

// Forge is a Gitea (or Forgejo) repository.
type Forge struct {
	api   string // origin, e.g. https://git.example.com or http://127.0.0.1:3000/sub
	owner string
	repo  string
	token string
	http  *http.Client
}

var _ forge.Forge = (*Forge)(nil)

// New returns the forge for repoURL (https://host[/sub-path]/owner/repo);
// the API is at /api/v1 under the same origin and sub-path. token is sent
// as "Authorization: token …".
func New(repoURL, token string, opts ...forgehttp.Option) (*Forge, error) {
	r, err := forgehttp.ParseRepoURL(repoURL, false)
	if err != nil {
		return nil, err
	}
	cfg := forgehttp.Apply(opts)
	api := cfg.APIURL
	if api == "" {
		api = r.Origin()
	}
	return &Forge{api: strings.TrimSuffix(api, "/"), owner: r.Owner(), repo: r.Name(), token: token, http: cfg.Client}, nil
}

// client is a Gitea client bound to ctx: the SDK takes its context per
// client, so each call gets its own (cheap: no request is made).
// The server version check is skipped; fleetc needs Gitea ≥ 1.17.
func (f *Forge) client(ctx context.Context) (*sdk.Client, error) {
	c, err := sdk.NewClient(f.api, sdk.SetToken(f.token), sdk.SetHTTPClient(f.http), sdk.SetContext(ctx), sdk.SetGiteaVersion(""))
	if err != nil {
		return nil, fmt.Errorf("gitea client: %w", err)
	}
	return c, nil
}

// Name implements forge.Forge.
func (f *Forge) Name() string { return "gitea" }

// EnsureMR implements forge.Forge.
func (f *Forge) EnsureMR(ctx context.Context, mr forge.MR) (*forge.MRInfo, error) {
	c, err := f.client(ctx)
	if err != nil {
		return nil, err
	}
	existing, err := f.findOpen(c, mr.Head, mr.Base)
	if err != nil {
		return nil, err
	}
	if existing == nil {
		pr, resp, err := c.CreatePullRequest(f.owner, f.repo, sdk.CreatePullRequestOption{Head: mr.Head, Base: mr.Base, Title: mr.Title, Body: mr.Body})
		if err == nil {
			info := info(pr)
			info.Created = true
			return info, nil
		}
		// Gitea answers 409 (older: 422) when one is open for the branches.
		if resp == nil || resp.StatusCode != http.StatusConflict && resp.StatusCode != http.StatusUnprocessableEntity {
			return nil, f.apiErr(http.MethodPost, "pulls", resp, err)
		}
		if existing, _ = f.findOpen(c, mr.Head, mr.Base); existing == nil {
			return nil, f.apiErr(http.MethodPost, "pulls", resp, err)
		}
	}
	if existing.Title == mr.Title && existing.Body == mr.Body {
		return info(existing), nil
	}
	pr, resp, err := c.EditPullRequest(f.owner, f.repo, existing.Index, sdk.EditPullRequestOption{Title: mr.Title, Body: &mr.Body})
	if err != nil {
		return nil, f.apiErr(http.MethodPatch, fmt.Sprintf("pulls/%d", existing.Index), resp, err)
	}
	return info(pr), nil
}

func (f *Forge) findOpen(c *sdk.Client, head, base string) (*sdk.PullRequest, error) {
	opts := sdk.ListPullRequestsOptions{State: sdk.StateOpen, ListOptions: sdk.ListOptions{Page: 1, PageSize: 50}}
	for {
		prs, resp, err := c.ListRepoPullRequests(f.owner, f.repo, opts)
		if err != nil {
			return nil, f.apiErr(http.MethodGet, "pulls", resp, err)
		}
		for _, pr := range prs {
			if pr.Head != nil && pr.Base != nil && pr.Head.Ref == head && pr.Base.Ref == base {
				return pr, nil
			}
		}
		if resp.NextPage == 0 || len(prs) == 0 {
			return nil, nil
		}
		opts.Page = resp.NextPage
	}
}

func info(pr *sdk.PullRequest) *forge.MRInfo {
	state := string(pr.State)
	if pr.HasMerged {
		state = "merged"
	}
	in := &forge.MRInfo{Number: int(pr.Index), URL: pr.HTMLURL, State: state}
	if pr.Head != nil {
		in.HeadSHA = pr.Head.Sha
	}
	return in
}

// GetMR implements forge.Forge.
func (f *Forge) GetMR(ctx context.Context, number int) (*forge.MRInfo, error) {
	c, err := f.client(ctx)
	if err != nil {
		return nil, err
	}
	pr, resp, err := c.GetPullRequest(f.owner, f.repo, int64(number))
	if err != nil {
		return nil, f.apiErr(http.MethodGet, fmt.Sprintf("pulls/%d", number), resp, err)
	}
	return info(pr), nil
}

// Approvals implements forge.Forge: the latest approve, request-changes or
// comment per user, with the commit the review was given on. Dismissed
// reviews read as dismissed.
func (f *Forge) Approvals(ctx context.Context, number int) ([]forge.Approval, error) {
	c, err := f.client(ctx)
	if err != nil {
		return nil, err
	}
	latest := map[string]forge.Approval{}
	opts := sdk.ListPullReviewsOptions{ListOptions: sdk.ListOptions{Page: 1, PageSize: 50}}
	for {
		reviews, resp, err := c.ListPullReviews(f.owner, f.repo, int64(number), opts)
		if err != nil {
			return nil, f.apiErr(http.MethodGet, fmt.Sprintf("pulls/%d/reviews", number), resp, err)
		}
		for _, r := range reviews {
			if r.Reviewer == nil || r.Reviewer.UserName == "" {
				continue
			}
			a := forge.Approval{User: r.Reviewer.UserName, Commit: r.CommitID, State: reviewState(r), At: r.Submitted}
			if a.State == "" {
				continue
			}
			prev, seen := latest[a.User]
			if seen && a.State == "commented" && prev.State != "commented" {
				continue
			}
			if !seen || !a.At.Before(prev.At) {
				latest[a.User] = a
			}
		}
		if resp.NextPage == 0 || len(reviews) == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	out := make([]forge.Approval, 0, len(latest))
	for _, a := range latest {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b forge.Approval) int { return strings.Compare(a.User, b.User) })
	return out, nil
}

func reviewState(r *sdk.PullReview) string {
	if r.Dismissed {
		return "dismissed"
	}
	switch r.State {
	case sdk.ReviewStateApproved:
		return "approved"
	case sdk.ReviewStateRequestChanges:
		return "changes_requested"
	case sdk.ReviewStateComment:
		return "commented"
	}
	return "" // pending drafts, review requests
}

// SetStatus implements forge.Forge.
func (f *Forge) SetStatus(ctx context.Context, sha string, st forge.Status) error {
	c, err := f.client(ctx)
	if err != nil {
		return err
	}
	_, resp, err := c.CreateStatus(f.owner, f.repo, sha, sdk.CreateStatusOption{
		State: sdk.StatusState(st.State), TargetURL: st.TargetURL, Description: truncate(st.Description, 255), Context: st.Context,
	})
	if err != nil {
		return f.apiErr(http.MethodPost, "statuses/"+sha, resp, err)
	}
	return nil
}

// Statuses returns the latest status per context on sha.
func (f *Forge) Statuses(ctx context.Context, sha string) ([]forge.Status, error) {
	c, err := f.client(ctx)
	if err != nil {
		return nil, err
	}
	latest := map[string]*sdk.Status{}
	var order []string
	opts := sdk.ListStatusesOption{ListOptions: sdk.ListOptions{Page: 1, PageSize: 50}}
	for {
		sts, resp, err := c.ListStatuses(f.owner, f.repo, sha, opts)
		if err != nil {
			return nil, f.apiErr(http.MethodGet, "commits/"+sha+"/statuses", resp, err)
		}
		for _, s := range sts {
			prev, ok := latest[s.Context]
			if !ok {
				order = append(order, s.Context)
			}
			if !ok || s.ID > prev.ID {
				latest[s.Context] = s
			}
		}
		if resp.NextPage == 0 || len(sts) == 0 {
			break
		}
		opts.Page = resp.NextPage
	}
	out := make([]forge.Status, 0, len(order))
	for _, name := range order {
		s := latest[name]
		out = append(out, forge.Status{Context: s.Context, State: forge.StatusState(s.State), Description: s.Description, TargetURL: s.TargetURL})
	}
	return out, nil
}

// Merge implements forge.Forge. head_commit_id makes Gitea refuse (409)
// when the head moved on since sha. While Gitea is still checking the pull
// request after a push it answers 405 "Please try again later"; Merge
// waits and tries again, up to about half a minute.
func (f *Forge) Merge(ctx context.Context, number int, sha string) error {
	for attempt := 1; ; attempt++ {
		err := f.merge(ctx, number, sha)
		var ae *forge.APIError
		if attempt >= mergeAttempts || !errors.As(err, &ae) || ae.Status != http.StatusMethodNotAllowed || !strings.Contains(ae.Message, "try again later") {
			return err
		}
		t := time.NewTimer(time.Duration(min(attempt, 6)) * 500 * time.Millisecond)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

const mergeAttempts = 12

// merge makes one merge request here rather than through the SDK, which
// drops the server's message on a refusal.
func (f *Forge) merge(ctx context.Context, number int, sha string) error {
	body, err := json.Marshal(map[string]any{"Do": "merge", "head_commit_id": sha})
	if err != nil {
		return err
	}
	path := f.path(fmt.Sprintf("pulls/%d/merge", number))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.api+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("gitea merge: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "token "+f.token)
	resp, err := f.http.Do(req)
	if err != nil {
		return fmt.Errorf("gitea merge: %w", err)
	}
	defer resp.Body.Close()
	msg, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode/100 == 2 {
		return nil
	}
	var e struct {
		Message string `json:"message"`
	}
	text := strings.TrimSpace(string(msg))
	if json.Unmarshal(msg, &e) == nil && e.Message != "" {
		text = e.Message
	}
	return &forge.APIError{Forge: "gitea", Method: http.MethodPost, Path: path, Status: resp.StatusCode, Message: forgehttp.Scrub(text, f.token)}
}

// ReadFile returns path at ref (a commit, branch or tag).
func (f *Forge) ReadFile(ctx context.Context, ref, path string) ([]byte, error) {
	c, err := f.client(ctx)
	if err != nil {
		return nil, err
	}
	b, resp, err := c.GetFile(f.owner, f.repo, ref, path)
	if err != nil {
		return nil, f.apiErr(http.MethodGet, "raw/"+path, resp, err)
	}
	return b, nil
}

func (f *Forge) path(rel string) string {
	return "/api/v1/repos/" + f.owner + "/" + f.repo + "/" + rel
}

// apiErr makes a *forge.APIError from the SDK's error and response (the
// SDK's errors are plain strings holding the server's message).
func (f *Forge) apiErr(method, rel string, resp *sdk.Response, err error) error {
	if resp == nil || resp.Response == nil || resp.StatusCode < 400 {
		return fmt.Errorf("gitea: %s", forgehttp.Scrub(err.Error(), f.token))
	}
	msg := err.Error()
	path := f.path(rel)
	if resp.Request != nil {
		method, path = resp.Request.Method, resp.Request.URL.Path
	}
	return &forge.APIError{Forge: "gitea", Method: method, Path: path, Status: resp.StatusCode, Message: forgehttp.Scrub(msg, f.token)}
}

func truncate(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
