package gitlab

// This file emulates the GitLab REST API (v4) in-process because the real
// service can't run here. The emulator checks each request the way GitLab
// does — method and path with the project path URL-encoded as one segment
// (retail%2Fplatform%2Fdeploy), the PRIVATE-TOKEN (or Bearer) header,
// required fields — and answers GitLab-shaped JSON and status codes: 401
// unauthorized, 404 unknown project or merge request, 409 a second open
// merge request for a source branch, 409 SHA mismatch on merge, 405 not
// mergeable, 400 bad status state. Lists page at 2 items with X-Page,
// X-Next-Page, X-Total-Pages and Link headers.

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
)

const (
	emuProject = "retail/platform/deploy"
	emuToken   = "glpat-s3cretTOKENvalue"
	perPage    = 2
)

type emuMR struct {
	IID                   int
	Title, Description    string
	Source, Target, State string
	Mergeable             bool
	ApprovedBy            []string
}

type emuStatus struct {
	ID                                   int
	Name, Status, Description, TargetURL string
}

type emulator struct {
	t   *testing.T
	srv *httptest.Server

	mu          sync.Mutex
	branches    map[string]string
	mrs         []*emuMR
	statuses    map[string][]emuStatus
	files       map[string]string
	resetOnPush *bool // nil: the approvals settings endpoint answers 404 (tier without it)
	calls       []string
	hideList    int
}

func newEmulator(t *testing.T) *emulator {
	e := &emulator{t: t, branches: map[string]string{"main": "m0", "fleetc/rollout": "c1"}, statuses: map[string][]emuStatus{}, files: map[string]string{}}
	mux := http.NewServeMux()
	p := "/api/v4/projects/{id}"
	mux.HandleFunc("GET "+p+"/merge_requests", e.listMRs)
	mux.HandleFunc("POST "+p+"/merge_requests", e.createMR)
	mux.HandleFunc("GET "+p+"/merge_requests/{iid}", e.getMR)
	mux.HandleFunc("PUT "+p+"/merge_requests/{iid}", e.updateMR)
	mux.HandleFunc("GET "+p+"/merge_requests/{iid}/approvals", e.approvals)
	mux.HandleFunc("PUT "+p+"/merge_requests/{iid}/merge", e.merge)
	mux.HandleFunc("GET "+p+"/approvals", e.projectApprovals)
	mux.HandleFunc("POST "+p+"/statuses/{sha}", e.createStatus)
	mux.HandleFunc("GET "+p+"/repository/commits/{sha}/statuses", e.listStatuses)
	mux.HandleFunc("GET "+p+"/repository/files/{path}/raw", e.rawFile)
	e.srv = httptest.NewServer(e.check(mux))
	t.Cleanup(e.srv.Close)
	return e
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func glError(w http.ResponseWriter, code int, msg any) {
	writeJSON(w, code, map[string]any{"message": msg})
}

func (e *emulator) check(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		e.mu.Lock()
		e.calls = append(e.calls, r.Method+" "+r.URL.EscapedPath())
		e.mu.Unlock()
		if r.Header.Get("PRIVATE-TOKEN") != emuToken && r.Header.Get("Authorization") != "Bearer "+emuToken {
			glError(w, http.StatusUnauthorized, "401 Unauthorized")
			return
		}
		prefix := "/api/v4/projects/" + strings.ReplaceAll(emuProject, "/", "%2F") + "/"
		if !strings.HasPrefix(r.URL.EscapedPath(), prefix) {
			glError(w, http.StatusNotFound, "404 Project Not Found")
			return
		}
		e.mu.Lock()
		defer e.mu.Unlock()
		next.ServeHTTP(w, r)
	})
}

func page[T any](w http.ResponseWriter, r *http.Request, items []T) {
	p, _ := strconv.Atoi(r.URL.Query().Get("page"))
	if p < 1 {
		p = 1
	}
	total := max((len(items)+perPage-1)/perPage, 1)
	h := w.Header()
	h.Set("X-Page", strconv.Itoa(p))
	h.Set("X-Per-Page", strconv.Itoa(perPage))
	h.Set("X-Total", strconv.Itoa(len(items)))
	h.Set("X-Total-Pages", strconv.Itoa(total))
	h.Set("X-Next-Page", "")
	if p < total {
		h.Set("X-Next-Page", strconv.Itoa(p+1))
		q := r.URL.Query()
		q.Set("page", strconv.Itoa(p+1))
		h.Set("Link", fmt.Sprintf(`<http://%s%s?%s>; rel="next"`, r.Host, r.URL.EscapedPath(), q.Encode()))
	}
	lo, hi := min((p-1)*perPage, len(items)), min(p*perPage, len(items))
	writeJSON(w, http.StatusOK, items[lo:hi])
}

// body reads a JSON body, as client-go sends for POST and PUT.
func body(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		glError(w, http.StatusBadRequest, "expected a JSON body")
		return nil, false
	}
	var in map[string]any
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		glError(w, http.StatusBadRequest, "400 Bad request - malformed JSON")
		return nil, false
	}
	return in, true
}

func str(m map[string]any, k string) string { s, _ := m[k].(string); return s }

func (e *emulator) mrJSON(m *emuMR) map[string]any {
	return map[string]any{
		"id": 1000 + m.IID, "iid": m.IID, "project_id": 42, "title": m.Title, "description": m.Description,
		"state": m.State, "source_branch": m.Source, "target_branch": m.Target, "sha": e.branches[m.Source],
		"web_url": fmt.Sprintf("https://gitlab.example.com/%s/-/merge_requests/%d", emuProject, m.IID),
	}
}

func (e *emulator) listMRs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out := []map[string]any{}
	if e.hideList > 0 {
		e.hideList--
		page(w, r, out)
		return
	}
	for _, m := range e.mrs {
		if s := q.Get("state"); s != "" && s != "all" && s != m.State ||
			q.Get("source_branch") != "" && q.Get("source_branch") != m.Source ||
			q.Get("target_branch") != "" && q.Get("target_branch") != m.Target {
			continue
		}
		out = append(out, e.mrJSON(m))
	}
	page(w, r, out)
}

func (e *emulator) createMR(w http.ResponseWriter, r *http.Request) {
	in, ok := body(w, r)
	if !ok {
		return
	}
	src, tgt, title := str(in, "source_branch"), str(in, "target_branch"), str(in, "title")
	switch {
	case src == "" || tgt == "" || title == "":
		glError(w, http.StatusBadRequest, "400 Bad request - source_branch, target_branch, title are missing")
		return
	case e.branches[src] == "":
		glError(w, http.StatusNotFound, "404 Branch Not Found")
		return
	}
	for _, m := range e.mrs {
		if m.State == "opened" && m.Source == src && m.Target == tgt {
			glError(w, http.StatusConflict, []string{fmt.Sprintf("Another open merge request already exists for this source branch: !%d", m.IID)})
			return
		}
	}
	m := &emuMR{IID: len(e.mrs) + 1, Title: title, Description: str(in, "description"), Source: src, Target: tgt, State: "opened", Mergeable: true}
	e.mrs = append(e.mrs, m)
	writeJSON(w, http.StatusCreated, e.mrJSON(m))
}

func (e *emulator) mr(w http.ResponseWriter, r *http.Request) *emuMR {
	n, err := strconv.Atoi(r.PathValue("iid"))
	if err != nil || n < 1 || n > len(e.mrs) {
		glError(w, http.StatusNotFound, "404 Not found")
		return nil
	}
	return e.mrs[n-1]
}

func (e *emulator) getMR(w http.ResponseWriter, r *http.Request) {
	if m := e.mr(w, r); m != nil {
		writeJSON(w, http.StatusOK, e.mrJSON(m))
	}
}

func (e *emulator) updateMR(w http.ResponseWriter, r *http.Request) {
	m := e.mr(w, r)
	if m == nil {
		return
	}
	in, ok := body(w, r)
	if !ok {
		return
	}
	for k := range in {
		switch k {
		case "title":
			m.Title = str(in, k)
		case "description":
			m.Description = str(in, k)
		default:
			e.t.Errorf("update merge request: unexpected field %q", k)
		}
	}
	writeJSON(w, http.StatusOK, e.mrJSON(m))
}

func (e *emulator) approvals(w http.ResponseWriter, r *http.Request) {
	m := e.mr(w, r)
	if m == nil {
		return
	}
	by := []map[string]any{}
	for i, u := range m.ApprovedBy {
		by = append(by, map[string]any{"user": map[string]any{"id": 10 + i, "username": u, "name": u, "state": "active"}})
	}
	writeJSON(w, http.StatusOK, map[string]any{"id": 1000 + m.IID, "iid": m.IID, "project_id": 42, "state": m.State,
		"approved": len(by) > 0, "approvals_required": 0, "approvals_left": 0, "approved_by": by})
}

func (e *emulator) projectApprovals(w http.ResponseWriter, r *http.Request) {
	if e.resetOnPush == nil {
		glError(w, http.StatusNotFound, "404 Not found")
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"approvals_before_merge": 0, "reset_approvals_on_push": *e.resetOnPush, "disable_overriding_approvers_per_merge_request": false})
}

func (e *emulator) merge(w http.ResponseWriter, r *http.Request) {
	m := e.mr(w, r)
	if m == nil {
		return
	}
	in, ok := body(w, r)
	if !ok {
		return
	}
	switch {
	case m.State != "opened" || !m.Mergeable:
		glError(w, http.StatusMethodNotAllowed, "405 Method Not Allowed")
	case str(in, "sha") != "" && str(in, "sha") != e.branches[m.Source]:
		glError(w, http.StatusConflict, "SHA does not match HEAD of source branch: "+e.branches[m.Source])
	default:
		m.State = "merged"
		writeJSON(w, http.StatusOK, e.mrJSON(m))
	}
}

func (e *emulator) createStatus(w http.ResponseWriter, r *http.Request) {
	in, ok := body(w, r)
	if !ok {
		return
	}
	if !slices.Contains([]string{"pending", "running", "success", "failed", "canceled", "skipped"}, str(in, "state")) {
		glError(w, http.StatusBadRequest, "400 Bad request - state does not have a valid value")
		return
	}
	if len([]rune(str(in, "description"))) > 255 {
		glError(w, http.StatusBadRequest, "400 Bad request - description is too long")
		return
	}
	name := str(in, "name")
	if name == "" {
		name = "default"
	}
	sha := r.PathValue("sha")
	st := emuStatus{ID: len(e.statuses[sha]) + 1, Name: name, Status: str(in, "state"), Description: str(in, "description"), TargetURL: str(in, "target_url")}
	e.statuses[sha] = append(e.statuses[sha], st)
	writeJSON(w, http.StatusCreated, map[string]any{"id": st.ID, "sha": sha, "status": st.Status, "name": st.Name, "description": st.Description, "target_url": st.TargetURL})
}

func (e *emulator) listStatuses(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{}
	for _, s := range e.statuses[r.PathValue("sha")] {
		out = append(out, map[string]any{"id": s.ID, "sha": r.PathValue("sha"), "status": s.Status, "name": s.Name, "description": s.Description, "target_url": s.TargetURL})
	}
	page(w, r, out)
}

func (e *emulator) rawFile(w http.ResponseWriter, r *http.Request) {
	if r.URL.Query().Get("ref") == "" {
		glError(w, http.StatusBadRequest, "400 Bad request - ref is missing")
		return
	}
	b, ok := e.files[r.URL.Query().Get("ref")+":"+r.PathValue("path")]
	if !ok {
		glError(w, http.StatusNotFound, "404 File Not Found")
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(b))
}
