// Package samples makes realistic, fully synthetic JFT events for the demo, the benchmark,
// jftctl and tests: Bundles, Compositions and MedicationDispenses for synthetic
// municipalities and synthetic patients (identity numbers with month +80, as in
// Skatteetaten's Tenor test population, with valid check digits), plus deliberately bad
// events, each named after the error code it must produce.
//
// The templates are our own; no official example is copied. Nothing here is real health data.
package samples

import (
	"embed"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

//go:embed templates/*.json
var templates embed.FS

// ResourceTypes the WriteAPI accepts, in the order Generator cycles through them.
var ResourceTypes = []string{"Bundle", "Composition", "MedicationDispense"}

// Event is one generated event.
type Event struct {
	Tenant       string
	ResourceType string
	Value        []byte
}

// Generator makes events deterministically from a seed.
type Generator struct {
	rng     *rand.Rand
	tenants []string
	now     time.Time
	tmpl    map[string]string
}

// NewGenerator returns a generator for the given tenants (organisation numbers).
func NewGenerator(seed uint64, tenants []string, now time.Time) (*Generator, error) {
	if len(tenants) == 0 {
		return nil, fmt.Errorf("samples: no tenants")
	}
	g := &Generator{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), tenants: tenants, now: now.UTC(), tmpl: map[string]string{}}
	for _, rt := range ResourceTypes {
		b, err := templates.ReadFile("templates/" + strings.ToLower(rt) + ".json")
		if err != nil {
			return nil, fmt.Errorf("samples: template %s: %w", rt, err)
		}
		g.tmpl[rt] = string(b)
	}
	return g, nil
}

// Next returns the i-th event: resource types in turn, tenants in turn.
func (g *Generator) Next(i int) Event {
	rt := ResourceTypes[i%len(ResourceTypes)]
	tenant := g.tenants[(i/len(ResourceTypes))%len(g.tenants)]
	return g.Make(rt, tenant, g.SyntheticNIN())
}

// Make fills the template of resourceType for tenant and the patient nin.
func (g *Generator) Make(resourceType, tenant, nin string) Event {
	birth, gender := birthOf(nin)
	r := strings.NewReplacer(
		"{{NOW}}", g.now.Format(time.RFC3339),
		"{{TENANT}}", tenant,
		"{{NIN}}", nin,
		"{{BIRTHDATE}}", birth,
		"{{GENDER}}", gender,
		"{{UUID_COMPOSITION}}", g.UUID(),
		"{{UUID_PATIENT}}", g.UUID(),
		"{{UUID_ORGANIZATION}}", g.UUID(),
		"{{UUID_DISPENSE}}", g.UUID(),
	)
	return Event{Tenant: tenant, ResourceType: resourceType, Value: []byte(r.Replace(g.tmpl[resourceType]))}
}

// UUID returns a random (version 4) UUID from the generator's stream.
func (g *Generator) UUID() string {
	var b [16]byte
	for i := range b {
		b[i] = byte(g.rng.UintN(256))
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// SyntheticNIN returns a synthetic fødselsnummer (month +80) with valid check digits, born
// 1940–1999 (individual numbers 900–999).
func (g *Generator) SyntheticNIN() string {
	for {
		day := 1 + g.rng.IntN(28)
		month := 1 + g.rng.IntN(12)
		year := 40 + g.rng.IntN(60)
		ind := 900 + g.rng.IntN(100)
		base := fmt.Sprintf("%02d%02d%02d%03d", day, month+80, year, ind)
		if nin, ok := withCheckDigits(base); ok {
			return nin
		}
	}
}

// RealNIN returns a fødselsnummer with valid check digits and no synthetic marker: what a
// production event carries, and what the test environment must refuse.
func (g *Generator) RealNIN() string {
	for {
		base := fmt.Sprintf("%02d%02d%02d%03d", 1+g.rng.IntN(28), 1+g.rng.IntN(12), 40+g.rng.IntN(60), 900+g.rng.IntN(100))
		if nin, ok := withCheckDigits(base); ok {
			return nin
		}
	}
}

// withCheckDigits appends K1 and K2 (mod 11) to nine digits; ok is false when a check
// digit would be 10, which no number uses.
func withCheckDigits(nine string) (string, bool) {
	d := make([]int, 0, 11)
	for _, c := range nine {
		d = append(d, int(c-'0'))
	}
	k1 := checkDigit(d, []int{3, 7, 6, 1, 8, 9, 4, 5, 2})
	if k1 < 0 {
		return "", false
	}
	d = append(d, k1)
	k2 := checkDigit(d, []int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2})
	if k2 < 0 {
		return "", false
	}
	return fmt.Sprintf("%s%d%d", nine, k1, k2), true
}

func checkDigit(d, w []int) int {
	s := 0
	for i, wi := range w {
		s += d[i] * wi
	}
	k := 11 - s%11
	switch k {
	case 11:
		return 0
	case 10:
		return -1
	}
	return k
}

// birthOf derives the birth date and administrative gender from a number made by this
// package (individual numbers 900–999, so years 1940–1999).
func birthOf(nin string) (string, string) {
	day := int(nin[0]-'0')*10 + int(nin[1]-'0')
	month := int(nin[2]-'0')*10 + int(nin[3]-'0')
	if month > 80 {
		month -= 80 // the synthetic marker
	}
	year := 1900 + int(nin[4]-'0')*10 + int(nin[5]-'0')
	gender := "female"
	if int(nin[8]-'0')%2 == 1 {
		gender = "male"
	}
	return fmt.Sprintf("%04d-%02d-%02d", year, month, day), gender
}
