package deploy

import (
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/metrics"
)

func build(t *testing.T, overlay string) resmap.ResMap {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), filepath.Join("k8s", "overlays", overlay))
	if err != nil {
		t.Fatalf("kustomize build %s: %v", overlay, err)
	}
	return m
}

// object returns the one resource of kind (and name, if given) as a generic map.
func object(t *testing.T, m resmap.ResMap, kind, name string) map[string]any {
	t.Helper()
	var found []map[string]any
	for _, r := range m.Resources() {
		if r.GetKind() != kind || name != "" && !sameName(r.GetName(), name) {
			continue
		}
		obj, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		found = append(found, obj)
	}
	if len(found) != 1 {
		t.Fatalf("%d resources of kind %s %s, want 1", len(found), kind, name)
	}
	return found[0]
}

// sameName matches name, or name with kustomize's generated hash suffix.
func sameName(got, name string) bool {
	rest, ok := strings.CutPrefix(got, name)
	return ok && (rest == "" || regexp.MustCompile(`^-[a-z0-9]{10}$`).MatchString(rest))
}

// at walks a path of map keys and slice indexes.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			s, _ := v.([]any)
			if k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func TestOverlaysBuildWithEveryPart(t *testing.T) {
	for _, tt := range []struct {
		overlay, env string
		keda         bool
	}{{"test", "test", false}, {"prod", "prod", true}} {
		t.Run(tt.overlay, func(t *testing.T) {
			m := build(t, tt.overlay)
			for _, kind := range []string{"Deployment", "Service", "ServiceAccount", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "PrometheusRule"} {
				object(t, m, kind, "")
			}
			dash := object(t, m, "ConfigMap", "jft-gateway-dashboard")
			if at(dash, "metadata", "labels", "grafana_dashboard") != "1" {
				t.Error("the dashboard ConfigMap lacks the grafana_dashboard label the Grafana sidecar looks for")
			}
			cm := object(t, m, "ConfigMap", "jft-gateway")
			if got := at(cm, "data", "JFT_ENVIRONMENT"); got != tt.env {
				t.Errorf("JFT_ENVIRONMENT = %v, want %s", got, tt.env)
			}
			hasKEDA := false
			for _, r := range m.Resources() {
				hasKEDA = hasKEDA || r.GetKind() == "ScaledObject"
			}
			if hasKEDA != tt.keda {
				t.Errorf("ScaledObject present = %v, want %v", hasKEDA, tt.keda)
			}
			// The Deployment reads the ConfigMap kustomize generated (name with hash).
			dep := object(t, m, "Deployment", "jft-gateway")
			ref := at(dep, "spec", "template", "spec", "containers", 0, "envFrom", 0, "configMapRef", "name")
			if ref != at(cm, "metadata", "name") {
				t.Errorf("Deployment reads ConfigMap %v, generated %v", ref, at(cm, "metadata", "name"))
			}
		})
	}
}

// TestManifestsUseTheGatewaysRealSettings: every JFT_* variable set anywhere is one the
// gateway reads, and the probes and ports are the admin server's.
func TestManifestsUseTheGatewaysRealSettings(t *testing.T) {
	known := map[string]bool{}
	for _, v := range gateway.Variables(gateway.Config{}) {
		known[v.Name] = true
	}
	m := build(t, "prod")
	cm := object(t, m, "ConfigMap", "jft-gateway")
	for k := range at(cm, "data").(map[string]any) {
		if !known[k] {
			t.Errorf("ConfigMap sets %s, which the gateway does not read", k)
		}
	}
	dep := object(t, m, "Deployment", "jft-gateway")
	c := at(dep, "spec", "template", "spec", "containers", 0)
	for _, e := range at(c, "env").([]any) {
		name := at(e, "name").(string)
		if strings.HasPrefix(name, "JFT_") && !known[name] {
			t.Errorf("Deployment sets %s, which the gateway does not read", name)
		}
		if name == "JFT_KAFKA_INSTANCE_ID" && at(e, "valueFrom", "fieldRef", "fieldPath") != "metadata.name" {
			t.Error("the static member id is not the pod name")
		}
	}
	adminPort := strings.TrimPrefix(at(cm, "data", "JFT_ADMIN_ADDR").(string), ":")
	if at(c, "ports", 0, "containerPort") != json.Number(adminPort) && at(c, "ports", 0, "containerPort") != int64(9464) && at(c, "ports", 0, "containerPort") != 9464 {
		t.Errorf("container port %v is not the admin port %s", at(c, "ports", 0, "containerPort"), adminPort)
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz"} {
		if at(c, probe, "httpGet", "path") != path || at(c, probe, "httpGet", "port") != "admin" {
			t.Errorf("%s = %v, want GET %s on the admin port", probe, at(c, probe), path)
		}
	}
	sc := at(c, "securityContext")
	if at(sc, "readOnlyRootFilesystem") != true || at(sc, "allowPrivilegeEscalation") != false || at(sc, "capabilities", "drop", 0) != "ALL" {
		t.Errorf("container security context %v", sc)
	}
	if at(dep, "spec", "template", "spec", "securityContext", "runAsNonRoot") != true {
		t.Error("the pod may run as root")
	}
	grace, _ := at(dep, "spec", "template", "spec", "terminationGracePeriodSeconds").(int)
	if grace < 35 {
		t.Errorf("terminationGracePeriodSeconds %v does not cover the 30 s drain", at(dep, "spec", "template", "spec", "terminationGracePeriodSeconds"))
	}
	so := object(t, m, "ScaledObject", "")
	maxReplicas, _ := at(so, "spec", "maxReplicaCount").(int)
	if maxReplicas < 1 || maxReplicas > 12 || at(so, "spec", "triggers", 0, "metadata", "consumerGroup") != at(cm, "data", "JFT_KAFKA_GROUP") ||
		at(so, "spec", "triggers", 0, "metadata", "topic") != at(cm, "data", "JFT_TOPIC_EVENTS") {
		t.Errorf("ScaledObject does not follow the gateway's group and topic, or exceeds the partition ceiling: %v", at(so, "spec"))
	}
}

// metricNames are the series the gateway exposes: its own (from a registry that has seen
// one of everything) plus kprom's and Prometheus' up.
var metricRef = regexp.MustCompile(`\b(jft_gateway_[a-z_]+?)(_bucket|_count|_sum)?\b`)

func TestAlertsAndDashboardUseRealMetrics(t *testing.T) {
	exposed := metrics.Names()
	check := func(where, expr string) {
		for _, m := range metricRef.FindAllStringSubmatch(expr, -1) {
			name := m[1]
			if strings.HasPrefix(name, "jft_gateway_kafka_") {
				continue // kprom's, named by the library
			}
			if !slices.Contains(exposed, name) {
				t.Errorf("%s uses %s, which the gateway does not expose", where, name)
			}
		}
	}
	m := build(t, "prod")
	rule := object(t, m, "PrometheusRule", "")
	rules := at(rule, "spec", "groups", 0, "rules").([]any)
	if len(rules) < 6 {
		t.Errorf("%d alerts", len(rules))
	}
	ops, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rules {
		check("alert "+at(r, "alert").(string), at(r, "expr").(string))
		url := at(r, "annotations", "runbook_url").(string)
		anchor := url[strings.LastIndex(url, "#")+1:]
		if !strings.Contains(strings.ToLower(string(ops)), "## "+strings.ReplaceAll(anchor, "-", " ")) &&
			!strings.Contains(strings.ToLower(string(ops)), "### "+strings.ReplaceAll(anchor, "-", " ")) {
			t.Errorf("alert %s points at #%s, which docs/operations.md lacks", at(r, "alert"), anchor)
		}
	}
	b, err := os.ReadFile("k8s/base/dashboards/jft-gateway.json")
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		Panels []struct {
			Title   string `json:"title"`
			Targets []struct {
				Expr string `json:"expr"`
			} `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if len(dash.Panels) < 10 {
		t.Errorf("%d panels", len(dash.Panels))
	}
	for _, p := range dash.Panels {
		for _, tg := range p.Targets {
			check("panel "+p.Title, tg.Expr)
		}
	}
}

// TestEveryYAMLFileParses covers files no overlay includes (the HPA component).
func TestEveryYAMLFileParses(t *testing.T) {
	n := 0
	err := filepath.WalkDir("k8s", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".yaml") {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		var v map[string]any
		if err := yaml.Unmarshal(b, &v); err != nil {
			t.Errorf("%s: %v", path, err)
		}
		if v["apiVersion"] == nil || v["kind"] == nil {
			t.Errorf("%s has no apiVersion or kind", path)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 12 {
		t.Errorf("only %d YAML files", n)
	}
	hpa, err := os.ReadFile("k8s/components/hpa/hpa.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(hpa), "jft_gateway_consumer_lag_records") {
		t.Error("the HPA does not scale on the gateway's lag metric")
	}
}
