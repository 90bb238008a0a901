// Package deploy holds the manifests that run fleetc-agent in a store
// cluster; this test pins their least-privilege RBAC and the Deployment's
// safety settings.
package deploy

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type object struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Rules   []rule `json:"rules"`
	RoleRef struct {
		APIGroup, Kind, Name string
	} `json:"roleRef"`
	Subjects []struct {
		Kind, Name, Namespace string
	} `json:"subjects"`
	Resources []string `json:"resources"` // kustomization.yaml
	Spec      *depSpec `json:"spec"`
}

type rule struct {
	APIGroups       []string `json:"apiGroups"`
	Resources       []string `json:"resources"`
	Verbs           []string `json:"verbs"`
	ResourceNames   []string `json:"resourceNames,omitempty"`
	NonResourceURLs []string `json:"nonResourceURLs,omitempty"`
}

type container struct {
	Name            string   `json:"name"`
	Args            []string `json:"args"`
	Env             []struct{ Name, Value string }
	SecurityContext struct {
		AllowPrivilegeEscalation *bool `json:"allowPrivilegeEscalation"`
		ReadOnlyRootFilesystem   *bool `json:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `json:"runAsNonRoot"`
		Capabilities             struct {
			Drop, Add []string
		} `json:"capabilities"`
	} `json:"securityContext"`
	Resources struct {
		Requests, Limits map[string]string
	} `json:"resources"`
	VolumeMounts []struct {
		Name      string `json:"name"`
		MountPath string `json:"mountPath"`
	} `json:"volumeMounts"`
}

type depSpec struct {
	Replicas *int `json:"replicas"`
	Strategy struct {
		Type string `json:"type"`
	} `json:"strategy"`
	Template struct {
		Spec struct {
			ServiceAccountName string `json:"serviceAccountName"`
			SecurityContext    struct {
				RunAsNonRoot *bool `json:"runAsNonRoot"`
				RunAsUser    int   `json:"runAsUser"`
			} `json:"securityContext"`
			InitContainers []container `json:"initContainers"`
			Containers     []container `json:"containers"`
			Volumes        []struct {
				Name     string `json:"name"`
				HostPath *struct {
					Path, Type string
				} `json:"hostPath"`
			} `json:"volumes"`
		} `json:"spec"`
	} `json:"template"`
}

// load decodes every document of every YAML file here, by kind/name.
func load(t *testing.T) (map[string]object, []string) {
	t.Helper()
	files, _ := filepath.Glob("*.yaml")
	objs := map[string]object{}
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range strings.Split(string(b), "\n---\n") {
			var o object
			if err := yaml.Unmarshal([]byte(doc), &o); err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			key := o.Kind + "/" + o.Metadata.Namespace + "/" + o.Metadata.Name
			if _, dup := objs[key]; dup {
				t.Errorf("%s: %s twice", f, key)
			}
			objs[key] = o
		}
	}
	return objs, files
}

func TestKustomizationListsEveryManifest(t *testing.T) {
	objs, files := load(t)
	k, ok := objs["Kustomization//"]
	if !ok {
		t.Fatal("no kustomization.yaml")
	}
	want := slices.DeleteFunc(slices.Clone(files), func(f string) bool { return f == "kustomization.yaml" })
	got := slices.Sorted(slices.Values(k.Resources))
	if !slices.Equal(got, want) {
		t.Errorf("kustomization.yaml resources %v, want every manifest %v", got, want)
	}
}

func TestRBACIsExactlyWhatTheAgentReads(t *testing.T) {
	objs, _ := load(t)
	verbs := []string{"get", "list", "watch"}
	wantRoles := map[string][]rule{
		"Role/flux-system/fleetc-agent": {
			{APIGroups: []string{"kustomize.toolkit.fluxcd.io"}, Resources: []string{"kustomizations"}, Verbs: verbs},
			{APIGroups: []string{"helm.toolkit.fluxcd.io"}, Resources: []string{"helmreleases"}, Verbs: verbs},
			{APIGroups: []string{"kustomize.toolkit.fluxcd.io"}, Resources: []string{"kustomizations"}, ResourceNames: []string{"fleetc-window"}, Verbs: []string{"patch"}},
			{APIGroups: []string{""}, Resources: []string{"configmaps"}, ResourceNames: []string{"fleetc-store"}, Verbs: []string{"get"}},
		},
		"Role/fleetc-system/fleetc-agent-key": {
			{APIGroups: []string{""}, Resources: []string{"secrets"}, ResourceNames: []string{"fleetc-agent-key"}, Verbs: []string{"get"}},
			{APIGroups: []string{""}, Resources: []string{"secrets"}, Verbs: []string{"create"}},
		},
		"ClusterRole//fleetc-agent-nodes": {
			{APIGroups: []string{""}, Resources: []string{"nodes"}, Verbs: verbs},
		},
	}
	for key, o := range objs {
		if o.Kind != "Role" && o.Kind != "ClusterRole" {
			continue
		}
		want, ok := wantRoles[key]
		if !ok {
			t.Errorf("unexpected %s", key)
			continue
		}
		if !reflect.DeepEqual(o.Rules, want) {
			t.Errorf("%s rules %+v, want exactly %+v", key, o.Rules, want)
		}
		delete(wantRoles, key)
	}
	for key := range wantRoles {
		t.Errorf("missing %s", key)
	}
	for key, ref := range map[string]string{
		"RoleBinding/flux-system/fleetc-agent":       "Role/fleetc-agent",
		"RoleBinding/fleetc-system/fleetc-agent-key": "Role/fleetc-agent-key",
		"ClusterRoleBinding//fleetc-agent-nodes":     "ClusterRole/fleetc-agent-nodes",
	} {
		b, ok := objs[key]
		if !ok {
			t.Errorf("missing %s", key)
			continue
		}
		if got := b.RoleRef.Kind + "/" + b.RoleRef.Name; got != ref || b.RoleRef.APIGroup != "rbac.authorization.k8s.io" {
			t.Errorf("%s binds %s, want %s", key, got, ref)
		}
		if len(b.Subjects) != 1 || b.Subjects[0].Kind != "ServiceAccount" || b.Subjects[0].Name != "fleetc-agent" || b.Subjects[0].Namespace != "fleetc-system" {
			t.Errorf("%s subjects %+v, want only ServiceAccount fleetc-system/fleetc-agent", key, b.Subjects)
		}
	}
	for _, key := range []string{"ServiceAccount/fleetc-system/fleetc-agent", "Namespace//fleetc-system"} {
		if _, ok := objs[key]; !ok {
			t.Errorf("missing %s", key)
		}
	}
}

func TestDeployment(t *testing.T) {
	objs, _ := load(t)
	d, ok := objs["Deployment/fleetc-system/fleetc-agent"]
	if !ok || d.Spec == nil {
		t.Fatal("no Deployment fleetc-system/fleetc-agent")
	}
	s := d.Spec
	if s.Replicas == nil || *s.Replicas != 1 || s.Strategy.Type != "Recreate" {
		t.Errorf("replicas %v strategy %q, want 1 and Recreate: one process owns the state directory", s.Replicas, s.Strategy.Type)
	}
	ps := s.Template.Spec
	if ps.ServiceAccountName != "fleetc-agent" {
		t.Errorf("serviceAccountName %q", ps.ServiceAccountName)
	}
	if ps.SecurityContext.RunAsNonRoot == nil || !*ps.SecurityContext.RunAsNonRoot || ps.SecurityContext.RunAsUser == 0 {
		t.Errorf("pod runs as root: %+v", ps.SecurityContext)
	}
	if len(ps.Volumes) != 1 || ps.Volumes[0].HostPath == nil || ps.Volumes[0].HostPath.Path != "/var/lib/fleetc-agent" {
		t.Fatalf("volumes %+v, want the hostPath /var/lib/fleetc-agent", ps.Volumes)
	}
	if len(ps.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(ps.Containers))
	}
	c := ps.Containers[0]
	sc := c.SecurityContext
	if sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		!slices.Equal(sc.Capabilities.Drop, []string{"ALL"}) || len(sc.Capabilities.Add) > 0 {
		t.Errorf("agent securityContext %+v, want read-only root, no privilege escalation, all capabilities dropped", sc)
	}
	if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/var/lib/fleetc-agent" || !slices.Contains(c.Args, "--state-dir=/var/lib/fleetc-agent") || !slices.Contains(c.Args, "--key-secret=fleetc-system/fleetc-agent-key") {
		t.Errorf("state dir: mounts %+v, args %v; want the hostPath mounted where --state-dir points", c.VolumeMounts, c.Args)
	}
	var env []string
	for _, e := range c.Env {
		env = append(env, e.Name)
	}
	for _, want := range []string{"FLEETC_STORE_ID", "FLEETC_COLLECTOR_URL"} {
		if !slices.Contains(env, want) {
			t.Errorf("env %v lacks %s", env, want)
		}
	}
	if c.Resources.Requests["cpu"] != "20m" || c.Resources.Requests["memory"] != "48Mi" || c.Resources.Limits["memory"] != "48Mi" || c.Resources.Limits["cpu"] == "" {
		t.Errorf("resources %+v, want requests 20m/48Mi and limits", c.Resources)
	}
	for _, ic := range ps.InitContainers {
		if ic.SecurityContext.AllowPrivilegeEscalation == nil || *ic.SecurityContext.AllowPrivilegeEscalation ||
			!slices.Equal(ic.SecurityContext.Capabilities.Drop, []string{"ALL"}) {
			t.Errorf("init container %s: %+v, want all capabilities dropped but what it adds", ic.Name, ic.SecurityContext)
		}
	}
}
