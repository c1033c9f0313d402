// Package compose checks docker-compose.yml against the binaries it runs: no Docker engine
// runs in CI, so this test is what keeps the file right for users who have one.
package compose

import (
	"os"
	"slices"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"

	"github.com/jft-gateway/jft-gateway/internal/gateway"
	"github.com/jft-gateway/jft-gateway/jftsim"
)

type service struct {
	Image       string                   `yaml:"image"`
	Build       *struct{ Target string } `yaml:"build"`
	Command     []string                 `yaml:"command"`
	Environment map[string]string        `yaml:"environment"`
	Ports       []string                 `yaml:"ports"`
	DependsOn   map[string]any           `yaml:"depends_on"`
	Volumes     []string                 `yaml:"volumes"`
}

type composeFile struct {
	Services map[string]service `yaml:"services"`
}

func load(t *testing.T) composeFile {
	t.Helper()
	b, err := os.ReadFile("../../docker-compose.yml")
	if err != nil {
		t.Fatal(err)
	}
	var f composeFile
	if err := yaml.Unmarshal(b, &f); err != nil {
		t.Fatalf("docker-compose.yml does not parse: %v", err)
	}
	return f
}

func names(vars []gateway.Variable) []string {
	var out []string
	for _, v := range vars {
		out = append(out, v.Name)
	}
	return out
}

// TestComposeServicesMatchTheBinaries checks that every JFT_* variable set for a service is
// one its binary reads, that commands are real subcommands, and that build targets exist.
func TestComposeServicesMatchTheBinaries(t *testing.T) {
	f := load(t)
	for _, want := range []string{"kafka", "topics", "jft-sim", "jft-gateway", "otel-collector", "jaeger", "prometheus", "grafana"} {
		if _, ok := f.Services[want]; !ok {
			t.Errorf("service %s missing", want)
		}
	}
	known := map[string][]string{
		"jft-gateway": names(gateway.Variables(gateway.Config{})),
		"jft-sim":     names(gateway.Variables(jftsim.Config{})),
	}
	for svc, vars := range known {
		s := f.Services[svc]
		for k := range s.Environment {
			if strings.HasPrefix(k, "JFT_") && !slices.Contains(vars, k) {
				t.Errorf("%s sets %s, which its binary does not read", svc, k)
			}
		}
	}
	gw := f.Services["jft-gateway"]
	if len(gw.Command) == 0 || gw.Command[0] != "serve" {
		t.Errorf("jft-gateway command = %v, want serve", gw.Command)
	}
	if gw.Environment["JFT_ENVIRONMENT"] == "" {
		t.Error("jft-gateway: JFT_ENVIRONMENT is required by serve")
	}
	if !strings.HasSuffix(gw.Environment["JFT_WRITEAPI_BASE_URL"], ":"+portOf(f.Services["jft-sim"].Environment["JFT_SIM_ADDR"])) {
		t.Errorf("jft-gateway's WriteAPI URL %q does not point at jft-sim's port", gw.Environment["JFT_WRITEAPI_BASE_URL"])
	}
	// Prometheus scrapes the gateway's admin port.
	prom, err := os.ReadFile("../../deploy/compose/prometheus.yaml")
	if err != nil {
		t.Fatal(err)
	}
	adminPort := portOf(gw.Environment["JFT_ADMIN_ADDR"])
	if adminPort == "" {
		adminPort = portOf(defaultOf(t, "JFT_ADMIN_ADDR"))
	}
	if !strings.Contains(string(prom), `"jft-gateway:`+adminPort+`"`) {
		t.Errorf("prometheus.yaml does not scrape jft-gateway:%s, the gateway's admin port", adminPort)
	}
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	for name, s := range f.Services {
		if s.Build != nil && !strings.Contains(string(dockerfile), " AS "+s.Build.Target+"\n") {
			t.Errorf("%s builds target %q, which the Dockerfile does not define", name, s.Build.Target)
		}
		if s.Image == "" {
			t.Errorf("%s has no image", name)
		}
		for _, v := range s.Volumes {
			src := strings.SplitN(v, ":", 2)[0]
			if strings.HasPrefix(src, "./") {
				if _, err := os.Stat("../../" + src); err != nil {
					t.Errorf("%s mounts %s, which does not exist", name, src)
				}
			}
		}
	}
}

// TestComposeTopicsMatchTheDefaults checks that the topics created are the gateway's defaults.
func TestComposeTopicsMatchTheDefaults(t *testing.T) {
	f := load(t)
	script := strings.Join(f.Services["topics"].Command, "\n")
	for _, v := range gateway.Variables(gateway.Config{}) {
		if strings.HasPrefix(v.Name, "JFT_TOPIC_") && v.Default != "" && !strings.Contains(script, v.Default) {
			t.Errorf("topics service does not create %s (default of %s)", v.Default, v.Name)
		}
	}
}

func portOf(addr string) string {
	i := strings.LastIndex(addr, ":")
	if i < 0 {
		return ""
	}
	return addr[i+1:]
}

// defaultOf is the default of a gateway variable, from its struct tag.
func defaultOf(t *testing.T, name string) string {
	t.Helper()
	for _, v := range gateway.Variables(gateway.Config{}) {
		if v.Name == name {
			return v.Default
		}
	}
	t.Fatalf("the gateway has no variable %s", name)
	return ""
}

// TestGrafanaProvisionsTheDashboard: Grafana mounts the provisioning folder and the folder
// of the dashboard the Kubernetes manifests ship, where the provider looks for it.
func TestGrafanaProvisionsTheDashboard(t *testing.T) {
	g := load(t).Services["grafana"]
	mounts := map[string]string{}
	for _, v := range g.Volumes {
		parts := strings.SplitN(v, ":", 3)
		if len(parts) >= 2 {
			mounts[parts[1]] = parts[0]
		}
	}
	if mounts["/etc/grafana/provisioning"] == "" {
		t.Fatal("grafana does not mount a provisioning folder")
	}
	provider, err := os.ReadFile("../../" + mounts["/etc/grafana/provisioning"] + "/dashboards/jft-gateway.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var p struct {
		Providers []struct {
			Options struct {
				Path string `yaml:"path"`
			} `yaml:"options"`
		} `yaml:"providers"`
	}
	if err := yaml.Unmarshal(provider, &p); err != nil || len(p.Providers) != 1 {
		t.Fatalf("dashboard provider: %v", err)
	}
	src := mounts[p.Providers[0].Options.Path]
	if src == "" {
		t.Fatalf("nothing is mounted at the provider's path %s", p.Providers[0].Options.Path)
	}
	if _, err := os.Stat("../../" + src + "/jft-gateway.json"); err != nil {
		t.Errorf("the dashboard is not in the mounted folder: %v", err)
	}
}

// TestDockerfileBuildsEveryCommand: each program under cmd/ is built into the images, but
// for the ones run from a checkout only.
func TestDockerfileBuildsEveryCommand(t *testing.T) {
	checkoutOnly := map[string]bool{"jft-bench": true} // drives the gateway binary; `go run ./cmd/jft-bench`
	dockerfile, err := os.ReadFile("../../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	cmds, err := os.ReadDir("../../cmd")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if c.IsDir() && !checkoutOnly[c.Name()] && !strings.Contains(string(dockerfile), "./cmd/"+c.Name()) {
			t.Errorf("the Dockerfile does not build cmd/%s", c.Name())
		}
	}
}
