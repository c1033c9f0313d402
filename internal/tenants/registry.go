package tenants

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"
)

// Tenant is one municipality the gateway may send for.
type Tenant struct {
	// Orgnr is the municipality's main entity: orgnr_parent, and the record key.
	Orgnr string `json:"orgnr" yaml:"orgnr"`
	// Child is an optional sub-unit (orgnr_child).
	Child string `json:"child,omitempty" yaml:"child,omitempty"`
	// Name is for people (logs of configuration, dashboards).
	Name string `json:"name,omitempty" yaml:"name,omitempty"`
	// ClientID and KeyFile give the municipality its own single-tenant HelseID client;
	// empty uses the gateway's multi-tenant client.
	ClientID string `json:"client_id,omitempty" yaml:"client_id,omitempty"`
	KeyFile  string `json:"key_file,omitempty" yaml:"key_file,omitempty"`
}

type file struct {
	Tenants []Tenant `json:"tenants" yaml:"tenants"`
}

// Registry is the tenants file, re-read when it changes (checked at most every interval,
// on lookup), so that municipalities can be added without a restart.
type Registry struct {
	path     string
	interval time.Duration
	now      func() time.Time

	mu        sync.Mutex
	byOrgnr   map[string]Tenant
	modTime   time.Time
	size      int64
	lastCheck time.Time
	lastErr   error
}

// Load reads the tenants file (YAML, or JSON by the .json extension).
func Load(path string, interval time.Duration) (*Registry, error) {
	r := &Registry{path: path, interval: interval, now: time.Now}
	if err := r.reload(); err != nil {
		return nil, err
	}
	return r, nil
}

// Static returns a registry of fixed tenants (tests, demo).
func Static(ts ...Tenant) *Registry {
	r := &Registry{byOrgnr: map[string]Tenant{}, now: time.Now}
	for _, t := range ts {
		r.byOrgnr[t.Orgnr] = t
	}
	return r
}

// Lookup returns the tenant for an organisation number.
func (r *Registry) Lookup(orgnr string) (Tenant, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.path != "" && r.now().Sub(r.lastCheck) >= r.interval {
		r.lastCheck = r.now()
		if fi, err := os.Stat(r.path); err == nil && (!fi.ModTime().Equal(r.modTime) || fi.Size() != r.size) {
			// A broken edit keeps the last good list; the error is reported by Err.
			r.lastErr = r.reloadLocked()
		}
	}
	t, ok := r.byOrgnr[orgnr]
	return t, ok
}

// Err returns the last reload error, nil when the file in use is the file on disk.
func (r *Registry) Err() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.lastErr
}

// All returns every tenant.
func (r *Registry) All() []Tenant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Tenant, 0, len(r.byOrgnr))
	for _, t := range r.byOrgnr {
		out = append(out, t)
	}
	return out
}

func (r *Registry) reload() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.lastCheck = r.now()
	return r.reloadLocked()
}

func (r *Registry) reloadLocked() error {
	fi, err := os.Stat(r.path)
	if err != nil {
		return fmt.Errorf("JFT_TENANTS_FILE: %w", err)
	}
	b, err := os.ReadFile(r.path)
	if err != nil {
		return fmt.Errorf("JFT_TENANTS_FILE: %w", err)
	}
	var f file
	if strings.HasSuffix(r.path, ".json") {
		err = json.Unmarshal(b, &f)
	} else {
		err = yaml.Unmarshal(b, &f)
	}
	if err != nil {
		return fmt.Errorf("JFT_TENANTS_FILE %s: %w", r.path, err)
	}
	m := make(map[string]Tenant, len(f.Tenants))
	for i, t := range f.Tenants {
		if len(t.Orgnr) != 9 || strings.Trim(t.Orgnr, "0123456789") != "" {
			return fmt.Errorf("JFT_TENANTS_FILE %s: tenant %d: orgnr %q is not 9 digits", r.path, i, t.Orgnr)
		}
		if (t.ClientID == "") != (t.KeyFile == "") {
			return fmt.Errorf("JFT_TENANTS_FILE %s: tenant %s: client_id and key_file go together", r.path, t.Orgnr)
		}
		if _, dup := m[t.Orgnr]; dup {
			return fmt.Errorf("JFT_TENANTS_FILE %s: tenant %s listed twice", r.path, t.Orgnr)
		}
		m[t.Orgnr] = t
	}
	r.byOrgnr, r.modTime, r.size = m, fi.ModTime(), fi.Size()
	return nil
}

// WriteDemoFile writes a tenants file with the demo municipalities.
func WriteDemoFile(path string) error {
	f := file{}
	for i, o := range demoOrgnrs {
		name := fmt.Sprintf("Testkommune %d", i+1)
		if i == 0 {
			name = "JFT Test kommune"
		}
		f.Tenants = append(f.Tenants, Tenant{Orgnr: o, Name: name})
	}
	b, err := yaml.Marshal(f)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o600)
}
