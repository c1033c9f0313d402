// Package tenants is the registry of municipalities the gateway may send for: who they
// are, and which HelseID client speaks for them.
package tenants

import "strconv"

// demoOrgnrs are synthetic organisation numbers from NHN's and Skatteetaten's test data
// (jft-facts.md §3.5): the JFT Test municipality 312229544 first. All pass mod 11 and start
// with 2 or 3, so the test environment accepts them.
var demoOrgnrs = []string{"312229544", "310163449", "313513580", "314270320", "310478717", "313367002", "311851381", "314961900", "314055403", "212201782"}

// DemoOrgnrs returns the synthetic municipalities that dev, demo and tests use.
func DemoOrgnrs() []string { return append([]string(nil), demoOrgnrs...) }

// SyntheticOrgnrs returns n organisation numbers that pass mod 11 and start with 3 (the
// test environment's synthetic range), from 310000000 upward: stand-ins for many
// municipalities in load and crash tests.
func SyntheticOrgnrs(n int) []string {
	weights := [8]int{3, 2, 7, 6, 5, 4, 3, 2}
	out := make([]string, 0, n)
	for v := 310000000; len(out) < n; v++ {
		d := v
		var digits [9]int
		for i := 8; i >= 0; i-- {
			digits[i], d = d%10, d/10
		}
		sum := 0
		for i, w := range weights {
			sum += digits[i] * w
		}
		if k := (11 - sum%11) % 11; k != 10 && digits[8] == k {
			out = append(out, strconv.Itoa(v))
		}
	}
	return out
}
