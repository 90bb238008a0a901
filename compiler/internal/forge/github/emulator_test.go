package github

// This file emulates the GitHub REST API in-process because the real
// service can't run here. The emulator checks each request the way GitHub
// does — method and path, the Authorization header (Bearer or token),
// required body fields and their values — and answers with GitHub-shaped
// JSON and status codes: 401 bad credentials, 404 unknown repository or
// number, 422 validation failures (duplicate pull request, unknown head,
// bad status state), 405 not mergeable, 409 head SHA mismatch. Lists page
// at 2 items with Link rel="next"/rel="last" headers.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

const (
	emuOwner = "acme"
	emuRepo  = "deploy"
	emuToken = "ghp_s3cretTOKENvalue"
	perPage  = 2
)

type emuPR struct {
	Number    int
	Title     string
	Body      string
	Head      string
	Base      string
	State     string
	Merged    bool
	Mergeable bool
}

type emuReview struct {
	User, State, Commit string
	At                  time.Time
}

type emuStatus struct {
	State, Context, Description, TargetURL string
}

type emulator struct {
	t   *testing.T
	srv *httptest.Server

	mu       sync.Mutex
	branches map[string]string // ref → head sha
	prs      []*emuPR
	reviews  map[int][]emuReview
	statuses map[string][]emuStatus // sha → oldest first
	files    map[string]string      // sha + ":" + path → content
	calls    []string               // "METHOD /path"
	fail     []int                  // status codes to answer before handling, one per request
	hideList int                    // answer this many PR lists with []
}

func newEmulator(t *testing.T) *emulator {
	e := &emulator{t: t, branches: map[string]string{"main": "m0", "fleetc/rollout": "c1"},
		reviews: map[int][]emuReview{}, statuses: map[string][]emuStatus{}, files: map[string]string{}}
	mux := http.NewServeMux()
	repo := "/repos/{owner}/{repo}"
	mux.HandleFunc("GET "+repo+"/pulls", e.listPRs)
	mux.HandleFunc("POST "+repo+"/pulls", e.createPR)
	mux.HandleFunc("GET "+repo+"/pulls/{n}", e.getPR)
	mux.HandleFunc("PATCH "+repo+"/pulls/{n}", e.editPR)
	mux.HandleFunc("GET "+repo+"/pulls/{n}/reviews", e.listReviews)
	mux.HandleFunc("PUT "+repo+"/pulls/{n}/merge", e.merge)
	mux.HandleFunc("POST "+repo+"/statuses/{sha}", e.createStatus)
	mux.HandleFunc("GET "+repo+"/commits/{sha}/statuses", e.listStatuses)
	mux.HandleFunc("GET "+repo+"/contents/{path...}", e.contents)
	e.srv = httptest.NewServer(e.check(mux))
	t.Cleanup(e.srv.Close)
	return e
}

func (e *emulator) forge(t *testing.T, token string) *Forge {
	t.Helper()
	f, err := New("https://github.com/"+emuOwner+"/"+emuRepo+".git", token, apiURL(e.srv.URL), noWait())
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func ghError(w http.ResponseWriter, code int, msg string, errs ...map[string]string) {
	body := map[string]any{"message": msg, "documentation_url": "https://docs.github.com/rest", "status": strconv.Itoa(code)}
	if len(errs) > 0 {
		body["errors"] = errs
	}
	writeJSON(w, code, body)
}

// check is GitHub's front door: credentials, repository, API headers.
func (e *emulator) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls = append(e.calls, r.Method+" "+r.URL.Path)
		var fail int
		if len(e.fail) > 0 {
			fail, e.fail = e.fail[0], e.fail[1:]
		}
		e.mu.Unlock()
		if fail != 0 {
			if fail == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", "7")
			}
			ghError(w, fail, http.StatusText(fail))
			return
		}
		auth := r.Header.Get("Authorization")
		if auth != "Bearer "+emuToken && auth != "token "+emuToken {
			ghError(w, http.StatusUnauthorized, "Bad credentials")
			return
		}
		if !strings.HasPrefix(r.Header.Get("Accept"), "application/vnd.github") {
			e.t.Errorf("%s %s: Accept %q is not a GitHub media type", r.Method, r.URL.Path, r.Header.Get("Accept"))
		}
		if r.Header.Get("X-GitHub-Api-Version") == "" {
			e.t.Errorf("%s %s: no X-GitHub-Api-Version", r.Method, r.URL.Path)
		}
		if !strings.HasPrefix(r.URL.Path, "/repos/"+emuOwner+"/"+emuRepo+"/") {
			ghError(w, http.StatusNotFound, "Not Found")
			return
		}
		if (r.Method == http.MethodPost || r.Method == http.MethodPatch || r.Method == http.MethodPut) &&
			!strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
			ghError(w, http.StatusUnsupportedMediaType, "Unsupported Media Type")
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

// page answers items[page] with GitHub's Link header.
func page[T any](w http.ResponseWriter, r *http.Request, items []T) {
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if p < 1 {
		p = 1
	}
	last := max((len(items)+perPage-1)/perPage, 1)
	link := func(n int, rel string) string {
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(n))
		return fmt.Sprintf(`<http://%s%s?%s>; rel="%s"`, r.Host, r.URL.Path, q.Encode(), rel)
	}
	var links []string
	if p < last {
		links = append(links, link(p+1, "next"), link(last, "last"))
	}
	if p > 1 {
		links = append(links, link(1, "first"), link(p-1, "prev"))
	}
	if len(links) > 0 {
		w.Header().Set("Link", strings.Join(links, ", "))
	}
	lo, hi := min((p-1)*perPage, len(items)), min(p*perPage, len(items))
	writeJSON(w, http.StatusOK, items[lo:hi])
}

func (e *emulator) prJSON(pr *emuPR) map[string]any {
	state := pr.State
	var mergedAt any
	if pr.Merged {
		state, mergedAt = "closed", "2026-11-22T10:00:00Z"
	}
	return map[string]any{
		"number": pr.Number, "state": state, "title": pr.Title, "body": pr.Body,
		"html_url": fmt.Sprintf("https://github.com/%s/%s/pull/%d", emuOwner, emuRepo, pr.Number),
		"head":     map[string]any{"ref": pr.Head, "sha": e.branches[pr.Head], "label": emuOwner + ":" + pr.Head},
		"base":     map[string]any{"ref": pr.Base, "sha": e.branches[pr.Base], "label": emuOwner + ":" + pr.Base},
		"merged":   pr.Merged, "merged_at": mergedAt, "mergeable": pr.Mergeable,
	}
}

func (e *emulator) listPRs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	head := q.Get("head")
	if head != "" && !strings.Contains(head, ":") {
		e.t.Errorf("list pulls: head %q is not user:ref", head)
	}
	out := []map[string]any{}
	if e.hideList > 0 {
		e.hideList--
		page(w, r, out)
		return
	}
	for _, pr := range e.prs {
		st := pr.State
		if pr.Merged {
			st = "closed"
		}
		if s := q.Get("state"); s != "" && s != "all" && s != st {
			continue
		}
		if head != "" && head != emuOwner+":"+pr.Head || q.Get("base") != "" && q.Get("base") != pr.Base {
			continue
		}
		out = append(out, e.prJSON(pr))
	}
	page(w, r, out)
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		ghError(w, http.StatusBadRequest, "Problems parsing JSON")
		return false
	}
	return true
}

func (e *emulator) createPR(w http.ResponseWriter, r *http.Request) {
	var in struct{ Title, Head, Base, Body string }
	if !decode(w, r, &in) {
		return
	}
	switch {
	case in.Title == "" || in.Head == "" || in.Base == "":
		ghError(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "code": "missing_field"})
		return
	case e.branches[in.Head] == "":
		ghError(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "field": "head", "code": "invalid"})
		return
	}
	for _, pr := range e.prs {
		if pr.State == "open" && !pr.Merged && pr.Head == in.Head && pr.Base == in.Base {
			ghError(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "PullRequest", "code": "custom", "message": "A pull request already exists for " + emuOwner + ":" + in.Head + "."})
			return
		}
	}
	pr := &emuPR{Number: len(e.prs) + 1, Title: in.Title, Body: in.Body, Head: in.Head, Base: in.Base, State: "open", Mergeable: true}
	e.prs = append(e.prs, pr)
	writeJSON(w, http.StatusCreated, e.prJSON(pr))
}

func (e *emulator) pr(w http.ResponseWriter, r *http.Request) *emuPR {
	n, err := strconv.Atoi(r.PathValue("n"))
	if err != nil || n < 1 || n > len(e.prs) {
		ghError(w, http.StatusNotFound, "Not Found")
		return nil
	}
	return e.prs[n-1]
}

func (e *emulator) getPR(w http.ResponseWriter, r *http.Request) {
	if pr := e.pr(w, r); pr != nil {
		writeJSON(w, http.StatusOK, e.prJSON(pr))
	}
}

func (e *emulator) editPR(w http.ResponseWriter, r *http.Request) {
	pr := e.pr(w, r)
	if pr == nil {
		return
	}
	var in map[string]any
	if !decode(w, r, &in) {
		return
	}
	for k, v := range in {
		s, _ := v.(string)
		switch k {
		case "title":
			pr.Title = s
		case "body":
			pr.Body = s
		default:
			e.t.Errorf("edit pull: unexpected field %q", k)
		}
	}
	writeJSON(w, http.StatusOK, e.prJSON(pr))
}

func (e *emulator) listReviews(w http.ResponseWriter, r *http.Request) {
	if e.pr(w, r) == nil {
		return
	}
	n, _ := strconv.Atoi(r.PathValue("n"))
	out := []map[string]any{}
	for i, rv := range e.reviews[n] {
		out = append(out, map[string]any{"id": 100 + i, "user": map[string]any{"login": rv.User, "type": "User"},
			"state": rv.State, "commit_id": rv.Commit, "submitted_at": rv.At.Format(time.RFC3339), "body": ""})
	}
	page(w, r, out)
}

func (e *emulator) merge(w http.ResponseWriter, r *http.Request) {
	pr := e.pr(w, r)
	if pr == nil {
		return
	}
	var in struct {
		SHA         string `json:"sha"`
		MergeMethod string `json:"merge_method"`
	}
	if !decode(w, r, &in) {
		return
	}
	switch {
	case in.MergeMethod != "" && !slices.Contains([]string{"merge", "squash", "rebase"}, in.MergeMethod):
		ghError(w, http.StatusUnprocessableEntity, "Validation Failed")
	case pr.Merged || pr.State != "open" || !pr.Mergeable:
		ghError(w, http.StatusMethodNotAllowed, "Pull Request is not mergeable")
	case in.SHA != "" && in.SHA != e.branches[pr.Head]:
		ghError(w, http.StatusConflict, "Head branch was modified. Review and try the merge again.")
	default:
		pr.Merged = true
		writeJSON(w, http.StatusOK, map[string]any{"sha": "merge1", "merged": true, "message": "Pull Request successfully merged"})
	}
}

func (e *emulator) createStatus(w http.ResponseWriter, r *http.Request) {
	var in struct {
		State       string `json:"state"`
		Context     string `json:"context"`
		Description string `json:"description"`
		TargetURL   string `json:"target_url"`
	}
	if !decode(w, r, &in) {
		return
	}
	if !slices.Contains([]string{"error", "failure", "pending", "success"}, in.State) || len([]rune(in.Description)) > 140 {
		ghError(w, http.StatusUnprocessableEntity, "Validation Failed", map[string]string{"resource": "Status", "code": "invalid"})
		return
	}
	sha := r.PathValue("sha")
	e.statuses[sha] = append(e.statuses[sha], emuStatus(in))
	writeJSON(w, http.StatusCreated, map[string]any{"state": in.State, "context": in.Context, "description": in.Description, "target_url": in.TargetURL})
}

func (e *emulator) listStatuses(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{}
	sts := e.statuses[r.PathValue("sha")]
	for i := len(sts) - 1; i >= 0; i-- { // newest first
		out = append(out, map[string]any{"state": sts[i].State, "context": sts[i].Context, "description": sts[i].Description})
	}
	page(w, r, out)
}

func (e *emulator) contents(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Accept") != "application/vnd.github.raw+json" {
		e.t.Errorf("contents: Accept %q, want the raw media type", r.Header.Get("Accept"))
	}
	body, ok := e.files[r.URL.Query().Get("ref")+":"+r.PathValue("path")]
	if !ok {
		ghError(w, http.StatusNotFound, "Not Found")
		return
	}
	w.Header().Set("Content-Type", "application/vnd.github.raw")
	_, _ = w.Write([]byte(body))
}
