package helseid

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/go-jose/go-jose/v4"
	"gopkg.in/yaml.v3"
)

// clientFile is one client in a clients file; keys are public JWKs.
type clientFile struct {
	Client `yaml:",inline"`
	Keys   []map[string]any `json:"keys" yaml:"keys"`
}

// LoadClients reads registered clients from a JSON or YAML file (by extension: .json, or
// .yaml/.yml):
//
//   - id: my-client
//     tenancy: multi
//     parents: ["312229544"]
//     supplier: "312587963"
//     keys: [{kty: EC, crv: P-256, x: ..., y: ...}]
func LoadClients(path string) ([]Client, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read clients: %w", err)
	}
	var files []clientFile
	if strings.HasSuffix(path, ".json") {
		err = json.Unmarshal(b, &files)
	} else {
		err = yaml.Unmarshal(b, &files)
	}
	if err != nil {
		return nil, fmt.Errorf("parse clients %s: %w", path, err)
	}
	out := make([]Client, 0, len(files))
	for n, f := range files {
		c := f.Client
		if c.ID == "" {
			return nil, fmt.Errorf("clients %s: entry %d has no id", path, n)
		}
		for _, raw := range f.Keys {
			j, _ := json.Marshal(raw)
			var k jose.JSONWebKey
			if err := k.UnmarshalJSON(j); err != nil {
				return nil, fmt.Errorf("clients %s: client %s: key: %w", path, c.ID, err)
			}
			if !k.IsPublic() {
				return nil, fmt.Errorf("clients %s: client %s: keys must be public", path, c.ID)
			}
			c.Keys = append(c.Keys, k)
		}
		if len(c.Keys) == 0 {
			return nil, fmt.Errorf("clients %s: client %s has no keys", path, c.ID)
		}
		out = append(out, c)
	}
	return out, nil
}
