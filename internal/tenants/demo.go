// Package tenants is the registry of municipalities the gateway may send for: who they
// are, and which HelseID client speaks for them.
package tenants

// demoOrgnrs are synthetic organisation numbers from NHN's and Skatteetaten's test data
// (jft-facts.md §3.5): the JFT Test municipality 312229544 first. All pass mod 11 and start
// with 2 or 3, so the test environment accepts them.
var demoOrgnrs = []string{"312229544", "310163449", "313513580", "314270320", "310478717", "313367002", "311851381", "314961900", "314055403", "212201782"}

// DemoOrgnrs returns the synthetic municipalities that dev, demo and tests use.
func DemoOrgnrs() []string { return append([]string(nil), demoOrgnrs...) }
