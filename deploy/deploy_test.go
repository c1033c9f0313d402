package deploy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sethvargo/go-envconfig"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"
	"gopkg.in/yaml.v3"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/resmap"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/internal/metrics"
	"github.com/jft-gateway/jft-gateway/jftsim"
)

// partitions is the events topic's partition count the manifests are sized for: `jftctl
// topics create`'s default, and the ceiling of useful replicas.
const partitions = 12

// variant is an overlay as shipped, or with the one-line switch docs/operations.md
// describes (edit maps old text of the overlay's kustomization.yaml to new).
type variant struct {
	name, overlay string
	edit          [2]string
	environment   string
	replicas      [2]int // allowed range
	autoscaler    string // kind, or "" for none
	simulator     bool
}

var variants = []variant{
	{name: "test", overlay: "test", environment: "test", replicas: [2]int{1, 2}},
	{name: "test with the simulator", overlay: "test", environment: "test", replicas: [2]int{1, 2}, simulator: true,
		edit: [2]string{"# components:\n#   - ../../components/simulator", "components:\n  - ../../components/simulator"}},
	{name: "prod", overlay: "prod", environment: "prod", replicas: [2]int{3, 3}, autoscaler: "ScaledObject"},
	{name: "prod with the HPA", overlay: "prod", environment: "prod", replicas: [2]int{3, 3}, autoscaler: "HorizontalPodAutoscaler",
		edit: [2]string{"  - ../../components/keda", "  - ../../components/hpa"}},
}

// build runs kustomize as `kubectl apply -k` would: on disk for a shipped overlay, or on an
// in-memory copy of deploy/k8s with the variant's edit applied.
func (v variant) build(t *testing.T) resmap.ResMap {
	t.Helper()
	dir := filepath.Join("k8s", "overlays", v.overlay)
	fsys := filesys.MakeFsOnDisk()
	if v.edit[0] != "" {
		fsys = filesys.MakeFsInMemory()
		err := filepath.WalkDir("k8s", func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			if path == filepath.Join(dir, "kustomization.yaml") {
				edited := strings.Replace(string(b), v.edit[0], v.edit[1], 1)
				if edited == string(b) {
					t.Fatalf("%s no longer contains %q: update docs/operations.md and this test", path, v.edit[0])
				}
				b = []byte(edited)
			}
			return fsys.WriteFile(path, b)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	m, err := krusty.MakeKustomizer(krusty.MakeDefaultOptions()).Run(fsys, dir)
	if err != nil {
		t.Fatalf("kustomize build %s: %v", v.name, err)
	}
	return m
}

// objects returns the resources of kind (and name, when not empty) as generic maps.
func objects(t *testing.T, m resmap.ResMap, kind, name string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, r := range m.Resources() {
		if r.GetKind() != kind || name != "" && !sameName(r.GetName(), name) {
			continue
		}
		obj, err := r.Map()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, obj)
	}
	return out
}

// object returns the one resource of kind and name.
func object(t *testing.T, m resmap.ResMap, kind, name string) map[string]any {
	t.Helper()
	found := objects(t, m, kind, name)
	if len(found) != 1 {
		t.Fatalf("%d resources %s %s, want 1", len(found), kind, name)
	}
	return found[0]
}

var hashSuffix = regexp.MustCompile(`^-[a-z0-9]{10}$`)

// sameName matches name, or name with kustomize's generated hash suffix.
func sameName(got, name string) bool {
	rest, ok := strings.CutPrefix(got, name)
	return ok && (rest == "" || hashSuffix.MatchString(rest))
}

// at walks a path of map keys and slice indexes; a missing step gives nil.
func at(v any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := v.(map[string]any)
			v = m[k]
		case int:
			s, _ := v.([]any)
			if k < 0 || k >= len(s) {
				return nil
			}
			v = s[k]
		}
	}
	return v
}

func str(v any) string { s, _ := v.(string); return s }

func list(v any) []any { s, _ := v.([]any); return s }

// num reads an integer however the YAML decoder typed it; -1 when it is not one.
func num(v any) int {
	switch n := v.(type) {
	case int:
		return n
	case int64:
		return int(n)
	case float64:
		return int(n)
	case string:
		if i, err := strconv.Atoi(n); err == nil {
			return i
		}
	}
	return -1
}

// subset reports whether every label of sel is in labels.
func subset(sel, labels any) bool {
	s, _ := sel.(map[string]any)
	l, _ := labels.(map[string]any)
	for k, v := range s {
		if l[k] != v {
			return false
		}
	}
	return len(s) > 0
}

func container(t *testing.T, dep map[string]any, name string) map[string]any {
	t.Helper()
	for _, c := range list(at(dep, "spec", "template", "spec", "containers")) {
		if at(c, "name") == name {
			return c.(map[string]any)
		}
	}
	t.Fatalf("Deployment %v has no container %s", at(dep, "metadata", "name"), name)
	return nil
}

// podName stands in for metadata.name from the downward API.
const podName = "jft-gateway-5d8c7b9f4-x2kqp"

// environment resolves a container's environment: its envFrom ConfigMaps, then env, as the
// kubelet does. The downward API gives the pod name; anything else fails the test.
func environment(t *testing.T, m resmap.ResMap, c map[string]any) map[string]string {
	t.Helper()
	env := map[string]string{}
	for _, from := range list(at(c, "envFrom")) {
		name := str(at(from, "configMapRef", "name"))
		var cm map[string]any
		for _, r := range m.Resources() {
			if r.GetKind() == "ConfigMap" && r.GetName() == name {
				cm, _ = r.Map()
			}
		}
		if cm == nil {
			t.Fatalf("envFrom names ConfigMap %q, which the build does not contain", name)
		}
		data, _ := at(cm, "data").(map[string]any)
		for k, v := range data {
			env[k] = str(v)
		}
	}
	for _, e := range list(at(c, "env")) {
		name := str(at(e, "name"))
		switch {
		case at(e, "value") != nil:
			env[name] = str(at(e, "value"))
		case at(e, "valueFrom", "fieldRef", "fieldPath") == "metadata.name":
			env[name] = podName
		default:
			t.Errorf("env %s: unexpected source %v", name, at(e, "valueFrom"))
		}
	}
	return env
}

// settings answers with the container's value, else the variable's documented default.
func settings(env map[string]string) func(string) string {
	defaults := map[string]string{}
	for _, v := range gateway.Variables(gateway.Config{}) {
		defaults[v.Name] = v.Default
	}
	return func(name string) string {
		if v, ok := env[name]; ok {
			return v
		}
		return defaults[name]
	}
}

func known(cfg any) map[string]bool {
	out := map[string]bool{}
	for _, v := range gateway.Variables(cfg) {
		out[v.Name] = true
	}
	return out
}

func TestOverlays(t *testing.T) {
	gatewayVars := known(gateway.Config{})
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			m := v.build(t)
			namespace := "jft-" + v.environment
			for _, r := range m.Resources() {
				if r.GetNamespace() != namespace {
					t.Errorf("%s %s is in namespace %q, want %s", r.GetKind(), r.GetName(), r.GetNamespace(), namespace)
				}
			}
			for _, kind := range []string{"ServiceAccount", "Service", "PodDisruptionBudget", "NetworkPolicy", "ServiceMonitor", "PrometheusRule"} {
				object(t, m, kind, "jft-gateway")
			}
			dash := object(t, m, "ConfigMap", "jft-gateway-dashboard")
			if at(dash, "metadata", "labels", "grafana_dashboard") != "1" {
				t.Error("the dashboard ConfigMap lacks the label grafana_dashboard: \"1\" the Grafana sidecar looks for")
			}
			if !json.Valid([]byte(str(at(dash, "data", "jft-gateway.json")))) {
				t.Error("the dashboard ConfigMap does not hold the dashboard JSON")
			}

			// Every JFT_* key of every ConfigMap but the dashboard's is a gateway variable.
			for _, cm := range objects(t, m, "ConfigMap", "") {
				if sameName(str(at(cm, "metadata", "name")), "jft-gateway-dashboard") {
					continue
				}
				data, _ := at(cm, "data").(map[string]any)
				for k := range data {
					if strings.HasPrefix(k, "JFT_") && !gatewayVars[k] {
						t.Errorf("ConfigMap %v sets %s, which the gateway does not read (docs/configuration.md)", at(cm, "metadata", "name"), k)
					}
				}
			}

			dep := object(t, m, "Deployment", "jft-gateway")
			c := container(t, dep, "jft-gateway")
			env := environment(t, m, c)
			for k := range env {
				if strings.HasPrefix(k, "JFT_") && !gatewayVars[k] {
					t.Errorf("the gateway container sets %s, which the gateway does not read (docs/configuration.md)", k)
				}
			}
			// The gateway would start with this environment: names, values and the rules
			// between them (e.g. no JFT_AUTH_MODE=none in prod) are its own checks.
			getenv := settings(env)
			if _, err := gateway.Load(context.Background(), func(k string) string { return env[k] }); err != nil {
				t.Errorf("the gateway refuses this configuration: %v", err)
			}
			if got := env["JFT_ENVIRONMENT"]; got != v.environment {
				t.Errorf("JFT_ENVIRONMENT = %q, want %s", got, v.environment)
			}
			if r := num(at(dep, "spec", "replicas")); r < v.replicas[0] || r > v.replicas[1] {
				t.Errorf("%d replicas, want %d–%d", r, v.replicas[0], v.replicas[1])
			}
			checkDeployment(t, dep, c, getenv)
			checkSecretMount(t, dep, c, getenv, v.simulator)
			checkSelectorsAndPorts(t, m, dep, c, getenv)
			checkNetworkPolicy(t, m, dep, getenv, v.simulator)
			checkAutoscaler(t, m, dep, getenv, v.autoscaler)
			if v.simulator {
				checkSimulator(t, m, getenv)
			} else if len(objects(t, m, "Deployment", "jft-sim")) != 0 {
				t.Error("the simulator is deployed although the overlay does not enable it")
			}
		})
	}
}

func checkDeployment(t *testing.T, dep, c map[string]any, getenv func(string) string) {
	t.Helper()
	if img := str(at(c, "image")); !strings.HasPrefix(img, "ghcr.io/jft-gateway/jft-gateway:") && !strings.HasPrefix(img, "ghcr.io/jft-gateway/jft-gateway@") {
		t.Errorf("image %q is not a tagged or pinned ghcr.io/jft-gateway/jft-gateway", img)
	}
	if args := list(at(c, "args")); len(args) != 1 || args[0] != "serve" {
		t.Errorf("args %v, want [serve]", args)
	}
	envNames := map[string]any{}
	for _, e := range list(at(c, "env")) {
		envNames[str(at(e, "name"))] = e
	}
	if at(envNames["JFT_KAFKA_INSTANCE_ID"], "valueFrom", "fieldRef", "fieldPath") != "metadata.name" {
		t.Error("JFT_KAFKA_INSTANCE_ID (group.instance.id) is not the pod name from the downward API")
	}
	// A Deployment's pod name never returns: a static member stopped with SIGTERM must leave.
	if getenv("JFT_KAFKA_LEAVE_ON_SHUTDOWN") != "true" {
		t.Error("JFT_KAFKA_LEAVE_ON_SHUTDOWN is not true for a Deployment: a stopped pod's partitions would wait for the session timeout")
	}

	pod := at(dep, "spec", "template", "spec")
	drain, err := time.ParseDuration(getenv("JFT_SHUTDOWN_DRAIN_TIMEOUT"))
	if err != nil {
		t.Fatal(err)
	}
	if grace := num(at(pod, "terminationGracePeriodSeconds")); grace != 60 || time.Duration(grace)*time.Second < drain+10*time.Second {
		t.Errorf("terminationGracePeriodSeconds %d, want 60 and at least the drain (%v) plus 10 s", grace, drain)
	}
	if at(pod, "securityContext", "runAsNonRoot") != true || num(at(pod, "securityContext", "runAsUser")) == 0 {
		t.Errorf("the pod may run as root: %v", at(pod, "securityContext"))
	}
	if at(pod, "securityContext", "seccompProfile", "type") != "RuntimeDefault" {
		t.Error("the pod has no RuntimeDefault seccomp profile")
	}
	sc := at(c, "securityContext")
	if at(sc, "readOnlyRootFilesystem") != true || at(sc, "allowPrivilegeEscalation") != false ||
		len(list(at(sc, "capabilities", "drop"))) != 1 || at(sc, "capabilities", "drop", 0) != "ALL" || at(sc, "capabilities", "add") != nil {
		t.Errorf("container security context %v, want a read-only root, no privilege escalation and every capability dropped", sc)
	}
	want := map[string]string{"requests.cpu": "250m", "requests.memory": "128Mi", "limits.cpu": "1", "limits.memory": "256Mi"}
	for k, w := range want {
		kind, res, _ := strings.Cut(k, ".")
		if got := fmt.Sprint(at(c, "resources", kind, res)); got != w {
			t.Errorf("resources.%s = %s, want %s", k, got, w)
		}
	}
	limit := mebibytes(str(at(c, "resources", "limits", "memory")))
	if gml := mebibytes(str(at(envNames["GOMEMLIMIT"], "value"))); gml <= 0 || gml >= limit {
		t.Errorf("GOMEMLIMIT (%d MiB) must be set below the memory limit (%d MiB)", gml, limit)
	}
}

// mebibytes reads "256Mi" or "230MiB"; -1 otherwise.
func mebibytes(s string) int {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSuffix(s, "B"), "Mi"))
	if err != nil || !strings.Contains(s, "Mi") {
		return -1
	}
	return n
}

// checkSecretMount: the HelseID key and the tenants file are read from the Secret's
// directory mount. subPath mounts never see an updated Secret, and the gateway's key
// rotation depends on seeing one.
func checkSecretMount(t *testing.T, dep, c map[string]any, getenv func(string) string, simulator bool) {
	t.Helper()
	volumes := map[string]any{}
	for _, v := range list(at(dep, "spec", "template", "spec", "volumes")) {
		volumes[str(at(v, "name"))] = v
	}
	for _, variable := range []string{"JFT_HELSEID_KEY_FILE", "JFT_TENANTS_FILE"} {
		path := getenv(variable)
		var mount any
		for _, vm := range list(at(c, "volumeMounts")) {
			if strings.HasPrefix(path, strings.TrimSuffix(str(at(vm, "mountPath")), "/")+"/") {
				mount = vm
			}
		}
		if mount == nil {
			t.Errorf("%s=%s is under no volume mount", variable, path)
			continue
		}
		vol := volumes[str(at(mount, "name"))]
		if at(vol, "secret", "secretName") != "jft-gateway-helseid" {
			t.Errorf("%s is not mounted from the Secret jft-gateway-helseid: %v", variable, vol)
		}
		if at(mount, "subPath") != nil || at(mount, "readOnly") != true {
			t.Errorf("%s: the mount must be read-only and without subPath, or updates never arrive: %v", variable, mount)
		}
		if optional := at(vol, "secret", "optional") == true; optional != simulator {
			t.Errorf("Secret optional = %v: only the simulator variant (no credentials) may start without it", optional)
		}
	}
}

// adminPort resolves a probe's or Service's port (a name or a number) on the container.
func adminPort(c map[string]any, port any) int {
	if n := num(port); n > 0 {
		return n
	}
	for _, p := range list(at(c, "ports")) {
		if at(p, "name") == port {
			return num(at(p, "containerPort"))
		}
	}
	return -1
}

func checkSelectorsAndPorts(t *testing.T, m resmap.ResMap, dep, c map[string]any, getenv func(string) string) {
	t.Helper()
	podLabels := at(dep, "spec", "template", "metadata", "labels")
	if !subset(at(dep, "spec", "selector", "matchLabels"), podLabels) {
		t.Error("the Deployment's selector does not match its pods")
	}
	// The admin server listens on JFT_ADMIN_ADDR, which must stay on 9464: the port the
	// NetworkPolicy admits and docker-compose.yml publishes.
	_, port, err := net.SplitHostPort(getenv("JFT_ADMIN_ADDR"))
	want, _ := strconv.Atoi(port)
	if err != nil || want != 9464 {
		t.Errorf("JFT_ADMIN_ADDR %q is not on port 9464", getenv("JFT_ADMIN_ADDR"))
	}
	for probe, path := range map[string]string{"livenessProbe": "/healthz", "readinessProbe": "/readyz", "startupProbe": "/healthz"} {
		if got := at(c, probe, "httpGet", "path"); got != path {
			t.Errorf("%s GET %v, want %s", probe, got, path)
		}
		if got := adminPort(c, at(c, probe, "httpGet", "port")); got != want {
			t.Errorf("%s on port %d, want the admin port %d", probe, got, want)
		}
	}
	svc := object(t, m, "Service", "jft-gateway")
	if !subset(at(svc, "spec", "selector"), podLabels) {
		t.Error("the Service selects no gateway pod")
	}
	if p := at(svc, "spec", "ports", 0); at(p, "name") != "admin" || num(at(p, "port")) != want || adminPort(c, at(p, "targetPort")) != want {
		t.Errorf("Service port %v, want admin → %d", p, want)
	}
	sm := object(t, m, "ServiceMonitor", "jft-gateway")
	if !subset(at(sm, "spec", "selector", "matchLabels"), at(svc, "metadata", "labels")) {
		t.Error("the ServiceMonitor does not select the Service")
	}
	if ep := at(sm, "spec", "endpoints", 0); at(ep, "port") != "admin" || at(ep, "path") != "/metrics" {
		t.Errorf("ServiceMonitor endpoint %v, want /metrics on admin", ep)
	}
	pdb := object(t, m, "PodDisruptionBudget", "jft-gateway")
	if num(at(pdb, "spec", "maxUnavailable")) != 1 || !subset(at(pdb, "spec", "selector", "matchLabels"), podLabels) {
		t.Errorf("PodDisruptionBudget %v, want maxUnavailable 1 over the gateway pods", at(pdb, "spec"))
	}
}

// checkNetworkPolicy: ingress only from the monitoring namespace to the admin port; egress
// only to the allowed ports, which must include the brokers' and the WriteAPI's.
func checkNetworkPolicy(t *testing.T, m resmap.ResMap, dep map[string]any, getenv func(string) string, simulator bool) {
	t.Helper()
	podLabels := at(dep, "spec", "template", "metadata", "labels")
	np := object(t, m, "NetworkPolicy", "jft-gateway")
	if !slices.Equal(list(at(np, "spec", "policyTypes")), []any{"Ingress", "Egress"}) {
		t.Errorf("policyTypes %v, want Ingress and Egress", at(np, "spec", "policyTypes"))
	}
	ingress := list(at(np, "spec", "ingress"))
	if len(ingress) != 1 || len(list(at(ingress[0], "from"))) != 1 ||
		at(ingress[0], "from", 0, "namespaceSelector", "matchLabels", "kubernetes.io/metadata.name") != "monitoring" ||
		len(list(at(ingress[0], "ports"))) != 1 || num(at(ingress[0], "ports", 0, "port")) != 9464 {
		t.Errorf("ingress %v, want only the monitoring namespace on 9464", ingress)
	}
	allowed := map[int]bool{}
	for _, p := range objects(t, m, "NetworkPolicy", "") {
		if !subset(at(p, "spec", "podSelector", "matchLabels"), podLabels) {
			continue
		}
		for _, rule := range list(at(p, "spec", "egress")) {
			for _, port := range list(at(rule, "ports")) {
				allowed[num(at(port, "port"))] = true
			}
		}
	}
	want := []int{53, 443, 9092, 9093}
	if simulator {
		want = append(want, 8088)
	}
	got := make([]int, 0, len(allowed))
	for p := range allowed {
		got = append(got, p)
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("egress to ports %v, want %v", got, want)
	}
	for _, b := range strings.Split(getenv("JFT_KAFKA_BROKERS"), ",") {
		_, port, err := net.SplitHostPort(strings.TrimSpace(b))
		if p, _ := strconv.Atoi(port); err != nil || !allowed[p] {
			t.Errorf("broker %s: port not allowed by the NetworkPolicy", b)
		}
	}
	if base := getenv("JFT_WRITEAPI_BASE_URL"); base != "" {
		u, err := url.Parse(base)
		if err != nil {
			t.Fatal(err)
		}
		port := u.Port()
		if port == "" && u.Scheme == "https" {
			port = "443"
		}
		if p, _ := strconv.Atoi(port); !allowed[p] {
			t.Errorf("JFT_WRITEAPI_BASE_URL %s: port not allowed by the NetworkPolicy", base)
		}
	}
}

// checkAutoscaler: exactly the expected one, aimed at the gateway's group and topics, and
// never above the partition ceiling.
func checkAutoscaler(t *testing.T, m resmap.ResMap, dep map[string]any, getenv func(string) string, kind string) {
	t.Helper()
	for _, k := range []string{"ScaledObject", "HorizontalPodAutoscaler"} {
		if n, want := len(objects(t, m, k, "")), map[bool]int{true: 1}[k == kind]; n != want {
			t.Errorf("%d %s, want %d", n, k, want)
		}
	}
	replicas := num(at(dep, "spec", "replicas"))
	switch kind {
	case "ScaledObject":
		so := object(t, m, "ScaledObject", "jft-gateway")
		if at(so, "spec", "scaleTargetRef", "name") != "jft-gateway" {
			t.Errorf("ScaledObject scales %v", at(so, "spec", "scaleTargetRef"))
		}
		lo, hi := num(at(so, "spec", "minReplicaCount")), num(at(so, "spec", "maxReplicaCount"))
		if lo < 1 || lo > replicas || hi < replicas || hi > partitions {
			t.Errorf("ScaledObject %d–%d replicas: want 1 ≤ min ≤ %d (the overlay's) ≤ max ≤ %d partitions", lo, hi, replicas, partitions)
		}
		var topics []string
		for _, tr := range list(at(so, "spec", "triggers")) {
			md := at(tr, "metadata")
			topics = append(topics, str(at(md, "topic")))
			if at(tr, "type") != "kafka" || at(md, "consumerGroup") != getenv("JFT_KAFKA_GROUP") ||
				at(md, "bootstrapServers") != getenv("JFT_KAFKA_BROKERS") || at(md, "allowIdleConsumers") != "false" ||
				num(at(md, "lagThreshold")) < 1 {
				t.Errorf("trigger %v: want kafka on the gateway's brokers and group (%s, %s), allowIdleConsumers false, a lagThreshold",
					md, getenv("JFT_KAFKA_BROKERS"), getenv("JFT_KAFKA_GROUP"))
			}
		}
		if want := []string{getenv("JFT_TOPIC_EVENTS"), getenv("JFT_TOPIC_ACKS")}; !slices.Equal(topics, want) {
			t.Errorf("ScaledObject watches topics %v, the gateway consumes %v", topics, want)
		}
	case "HorizontalPodAutoscaler":
		hpa := object(t, m, "HorizontalPodAutoscaler", "jft-gateway")
		if at(hpa, "spec", "scaleTargetRef", "kind") != "Deployment" || at(hpa, "spec", "scaleTargetRef", "name") != "jft-gateway" {
			t.Errorf("HPA scales %v", at(hpa, "spec", "scaleTargetRef"))
		}
		lo, hi := num(at(hpa, "spec", "minReplicas")), num(at(hpa, "spec", "maxReplicas"))
		if lo < 1 || lo > replicas || hi < replicas || hi > partitions {
			t.Errorf("HPA %d–%d replicas: want 1 ≤ min ≤ %d ≤ max ≤ %d partitions", lo, hi, replicas, partitions)
		}
		if at(hpa, "spec", "metrics", 0, "external", "metric", "name") != "jft_gateway_consumer_lag_records" {
			t.Errorf("HPA metric %v, want the external jft_gateway_consumer_lag_records", at(hpa, "spec", "metrics"))
		}
	}
}

// checkSimulator: the simulator runs with valid JFT_SIM_* settings in the gateway's
// environment, and the gateway sends to its Service.
func checkSimulator(t *testing.T, m resmap.ResMap, getenv func(string) string) {
	t.Helper()
	dep := object(t, m, "Deployment", "jft-sim")
	env := environment(t, m, container(t, dep, "jft-sim"))
	simVars := known(jftsim.Config{})
	for k := range env {
		if !simVars[k] {
			t.Errorf("jft-sim sets %s, which the simulator does not read (jftsim/README.md)", k)
		}
	}
	var cfg jftsim.Config
	if err := envconfig.ProcessWith(context.Background(), &envconfig.Config{Target: &cfg, Lookuper: envconfig.MapLookuper(env)}); err != nil {
		t.Fatalf("jft-sim configuration: %v", err)
	}
	if err := cfg.Validate(); err != nil {
		t.Errorf("jft-sim refuses its configuration: %v", err)
	}
	if cfg.Environment != getenv("JFT_ENVIRONMENT") || (cfg.Auth == "off") != (getenv("JFT_AUTH_MODE") == "none") {
		t.Errorf("simulator environment %s, auth %s; gateway environment %s, auth mode %s",
			cfg.Environment, cfg.Auth, getenv("JFT_ENVIRONMENT"), getenv("JFT_AUTH_MODE"))
	}
	svc := object(t, m, "Service", "jft-sim")
	u, err := url.Parse(getenv("JFT_WRITEAPI_BASE_URL"))
	if err != nil || u.Hostname() != str(at(svc, "metadata", "name")) || u.Port() != strconv.Itoa(num(at(svc, "spec", "ports", 0, "port"))) {
		t.Errorf("JFT_WRITEAPI_BASE_URL %q is not the jft-sim Service", getenv("JFT_WRITEAPI_BASE_URL"))
	}
	_, simPort, _ := net.SplitHostPort(cfg.Addr)
	if p := adminPort(container(t, dep, "jft-sim"), "http"); strconv.Itoa(p) != simPort {
		t.Errorf("jft-sim listens on %s, its container port is %d", cfg.Addr, p)
	}
}

// TestEveryManifestParses covers every YAML file, those no overlay includes as well, and
// every JSON file.
func TestEveryManifestParses(t *testing.T) {
	files := 0
	err := filepath.WalkDir("k8s", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		switch filepath.Ext(path) {
		case ".json":
			if !json.Valid(b) {
				t.Errorf("%s is not valid JSON", path)
			}
		case ".yaml", ".yml":
			dec := yaml.NewDecoder(strings.NewReader(string(b)))
			for i := 0; ; i++ {
				var doc map[string]any
				err := dec.Decode(&doc)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Errorf("%s, document %d: %v", path, i+1, err)
					break
				}
				if doc["apiVersion"] == nil || doc["kind"] == nil {
					t.Errorf("%s, document %d: no apiVersion or kind", path, i+1)
				}
			}
		default:
			t.Errorf("%s: unexpected file in deploy/k8s", path)
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 15 {
		t.Errorf("only %d files under deploy/k8s", files)
	}
}

// metricRef finds metric names in PromQL; a histogram's series suffixes are cut off.
var metricRef = regexp.MustCompile(`\b(jft_gateway_[a-z0-9_]+?|up)(_bucket|_count|_sum)?\b`)

// exposedMetrics are the names a running gateway exposes: its own (metrics.Names) and the
// franz-go client metrics kprom registers once a real client has talked to a broker.
func exposedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	names := map[string]bool{"up": true}
	for _, n := range metrics.Names() {
		names[n] = true
	}
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(1, "in", "dlq"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	m := metrics.New()
	// The producer's idle connections are closed soon, so that disconnects are counted.
	producer, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), m.ProducerHooks("dlq"), kgo.ConnIdleTimeout(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	defer producer.Close()
	if err := producer.ProduceSync(ctx, &kgo.Record{Topic: "in", Value: []byte("x")}).FirstErr(); err != nil {
		t.Fatal(err)
	}
	consumer, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), m.ConsumerHooks(),
		kgo.ConsumeTopics("in"), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	if err != nil {
		t.Fatal(err)
	}
	defer consumer.Close()
	for n := 0; n == 0; {
		f := consumer.PollFetches(ctx)
		if ctx.Err() != nil {
			t.Fatal("no record fetched from kfake")
		}
		n = f.NumRecords()
	}
	for {
		families, err := m.Registry().Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range families {
			names[f.GetName()] = true
		}
		if names["jft_gateway_kafka_disconnects_total"] {
			break
		}
		select {
		case <-ctx.Done():
			t.Fatal("no idle connection was closed")
		case <-time.After(50 * time.Millisecond):
		}
	}
	kafka := 0
	for n := range names {
		if strings.HasPrefix(n, "jft_gateway_kafka_") {
			kafka++
		}
	}
	if kafka < 10 {
		t.Fatalf("only %d jft_gateway_kafka_* metrics gathered", kafka)
	}
	return names
}

// checkMetrics reports names in expr that no gateway exposes.
func checkMetrics(t *testing.T, exposed map[string]bool, where, expr string) {
	t.Helper()
	refs := metricRef.FindAllStringSubmatch(expr, -1)
	if len(refs) == 0 {
		t.Errorf("%s names no metric: %s", where, expr)
	}
	for _, r := range refs {
		if !exposed[r[1]] {
			t.Errorf("%s uses %s, which the gateway does not expose", where, r[1])
		}
	}
	if !balanced(expr) {
		t.Errorf("%s: unbalanced brackets in %s", where, expr)
	}
}

// balanced checks (), [] and {} outside of quoted strings.
func balanced(expr string) bool {
	var stack []rune
	quoted := false
	for _, r := range expr {
		switch {
		case r == '"':
			quoted = !quoted
		case quoted:
		case strings.ContainsRune("([{", r):
			stack = append(stack, r)
		case strings.ContainsRune(")]}", r):
			if len(stack) == 0 || stack[len(stack)-1] != map[rune]rune{')': '(', ']': '[', '}': '{'}[r] {
				return false
			}
			stack = stack[:len(stack)-1]
		}
	}
	return len(stack) == 0 && !quoted
}

// anchors are the GitHub anchors of docs/operations.md's headings.
func anchors(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	strip := regexp.MustCompile(`[^a-z0-9 _-]`)
	for _, line := range strings.Split(string(b), "\n") {
		if h, ok := strings.CutPrefix(line, "#"); ok {
			h = strings.TrimLeft(h, "#")
			out[strings.ReplaceAll(strip.ReplaceAllString(strings.ToLower(strings.TrimSpace(h)), ""), " ", "-")] = true
		}
	}
	return out
}

const runbook = "https://github.com/jft-gateway/jft-gateway/blob/main/docs/operations.md#"

func TestAlerts(t *testing.T) {
	exposed := exposedMetrics(t)
	sections := anchors(t)
	m := variants[2].build(t) // prod
	rule := object(t, m, "PrometheusRule", "jft-gateway")
	var exprs []string
	for _, g := range list(at(rule, "spec", "groups")) {
		for _, r := range list(at(g, "rules")) {
			name, expr := str(at(r, "alert")), str(at(r, "expr"))
			exprs = append(exprs, expr)
			checkMetrics(t, exposed, "alert "+name, expr)
			if s := at(r, "labels", "severity"); s != "warning" && s != "critical" {
				t.Errorf("alert %s: severity %v", name, s)
			}
			if str(at(r, "annotations", "summary")) == "" || str(at(r, "annotations", "description")) == "" {
				t.Errorf("alert %s lacks a summary or a description", name)
			}
			anchor, ok := strings.CutPrefix(str(at(r, "annotations", "runbook_url")), runbook)
			if !ok || !sections[anchor] {
				t.Errorf("alert %s: runbook_url %v is not a section of docs/operations.md", name, at(r, "annotations", "runbook_url"))
			}
		}
	}
	// The alerts the runbook promises, each recognised by what it must compute.
	for what, parts := range map[string][]string{
		"lag growing":    {"deriv(", "jft_gateway_consumer_lag_records", "[10m", "> 1000"},
		"error rate":     {`jft_gateway_results_total{outcome="failed"}`, "/", "jft_gateway_results_total[", "> 0.05"},
		"tenant paused":  {"jft_gateway_tenant_paused", "== 1"},
		"token failures": {`increase(jft_gateway_token_requests_total{result="error"}[10m])`, "> 0"},
		"DLQ growth":     {"increase(jft_gateway_dlq_records_total[30m])", "> 0"},
		"gateway down":   {`absent(up{job=~".*jft-gateway.*"}`},
	} {
		found := slices.ContainsFunc(exprs, func(e string) bool {
			return !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(e, p) })
		})
		if !found {
			t.Errorf("no alert for %s (an expression with %q)", what, parts)
		}
	}
	for _, r := range list(at(rule, "spec", "groups", 0, "rules")) {
		if strings.Contains(str(at(r, "expr")), "jft_gateway_tenant_paused") && at(r, "for") != "10m" {
			t.Errorf("the tenant paused alert waits %v, want 10m", at(r, "for"))
		}
	}
}

func TestDashboard(t *testing.T) {
	exposed := exposedMetrics(t)
	b, err := os.ReadFile("k8s/base/dashboards/jft-gateway.json")
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		RefID string `json:"refId"`
		Expr  string `json:"expr"`
	}
	var dash struct {
		UID        string `json:"uid"`
		Templating struct {
			List []struct {
				Name     string `json:"name"`
				AllValue string `json:"allValue"`
			} `json:"list"`
		} `json:"templating"`
		Panels []struct {
			ID         int               `json:"id"`
			Title      string            `json:"title"`
			Type       string            `json:"type"`
			Datasource map[string]string `json:"datasource"`
			GridPos    map[string]int    `json:"gridPos"`
			Targets    []target          `json:"targets"`
		} `json:"panels"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("dashboard: %v", err)
	}
	if dash.UID == "" {
		t.Error("the dashboard has no uid: every import would make a new one")
	}
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.AllValue
	}
	if _, ok := vars["datasource"]; !ok || vars["namespace"] != ".*" {
		t.Errorf("template variables %v: want datasource, and namespace with All = .* (docker compose has no namespace label)", vars)
	}
	ids := map[int]bool{}
	var exprs []string
	selector := regexp.MustCompile(`jft_gateway_[a-z0-9_]+(\{[^}]*\})?`)
	for _, p := range dash.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		if p.GridPos["w"] == 0 || p.GridPos["h"] == 0 {
			t.Errorf("panel %q has no size", p.Title)
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource["uid"] != "${datasource}" || len(p.Targets) == 0 {
			t.Errorf("panel %q: datasource %v, %d queries", p.Title, p.Datasource, len(p.Targets))
		}
		refs := map[string]bool{}
		for _, tg := range p.Targets {
			if refs[tg.RefID] {
				t.Errorf("panel %q: refId %s twice", p.Title, tg.RefID)
			}
			refs[tg.RefID] = true
			checkMetrics(t, exposed, "panel "+p.Title, tg.Expr)
			for _, s := range selector.FindAllStringSubmatch(tg.Expr, -1) {
				if !strings.Contains(s[1], `namespace=~"$namespace"`) {
					t.Errorf("panel %q: %s ignores the namespace variable", p.Title, s[0])
				}
			}
			exprs = append(exprs, tg.Expr)
		}
	}
	// The panels the runbook reads, each recognised by its query.
	for what, parts := range map[string][]string{
		"records consumed/s":       {"rate(jft_gateway_records_consumed_total"},
		"results/s by outcome":     {"sum by (outcome)", "rate(jft_gateway_results_total"},
		"top error codes":          {"topk(", "by (code", "jft_gateway_results_total"},
		"WriteAPI latency p50":     {"histogram_quantile(0.5,", "status_class", "jft_gateway_writeapi_request_duration_seconds_bucket"},
		"WriteAPI latency p95":     {"histogram_quantile(0.95,", "status_class", "jft_gateway_writeapi_request_duration_seconds_bucket"},
		"WriteAPI latency p99":     {"histogram_quantile(0.99,", "status_class", "jft_gateway_writeapi_request_duration_seconds_bucket"},
		"retries/s by reason":      {"sum by (reason)", "rate(jft_gateway_writeapi_retries_total"},
		"lag per partition":        {"partition", "jft_gateway_consumer_lag_records"},
		"in-flight per tenant":     {"by (tenant)", "jft_gateway_tenant_inflight_records"},
		"tenant paused":            {"jft_gateway_tenant_paused"},
		"token requests by result": {"by (result)", "jft_gateway_token_requests_total"},
		"DLQ/s":                    {"rate(jft_gateway_dlq_records_total"},
		"Kafka client bytes":       {"rate(jft_gateway_kafka_", "bytes_total"},
	} {
		found := slices.ContainsFunc(exprs, func(e string) bool {
			return !slices.ContainsFunc(parts, func(p string) bool { return !strings.Contains(e, p) })
		})
		if !found {
			t.Errorf("no panel for %s (a query with %q)", what, parts)
		}
	}
}

// TestRunbookNamesRealPaths: every deploy/k8s path docs/operations.md tells an SRE to use
// exists, and so does every overlay the runbook applies.
func TestRunbookNamesRealPaths(t *testing.T) {
	b, err := os.ReadFile("../docs/operations.md")
	if err != nil {
		t.Fatal(err)
	}
	paths := regexp.MustCompile(`deploy/k8s/[a-z0-9/._-]*[a-z0-9]`).FindAllString(string(b), -1)
	if len(paths) < 3 {
		t.Fatalf("docs/operations.md names %d deploy/k8s paths", len(paths))
	}
	for _, p := range paths {
		if _, err := os.Stat(filepath.Join("..", p)); err != nil {
			t.Errorf("docs/operations.md names %s: %v", p, err)
		}
	}
	for _, cmd := range []string{"kubectl apply -k deploy/k8s/overlays/prod", "jftctl dlq replay --dry-run"} {
		if !strings.Contains(string(b), cmd) {
			t.Errorf("docs/operations.md does not show %q", cmd)
		}
	}
}
