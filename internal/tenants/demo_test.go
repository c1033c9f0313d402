package tenants

import "testing"

func TestDemoOrgnrsAreValidSyntheticOrganisationNumbers(t *testing.T) {
	seen := map[string]bool{}
	for _, s := range DemoOrgnrs() {
		if len(s) != 9 || (s[0] != '2' && s[0] != '3') {
			t.Errorf("%s is not a 9-digit number starting with 2 or 3", s)
		}
		w := []int{3, 2, 7, 6, 5, 4, 3, 2}
		sum := 0
		for i := range w {
			sum += int(s[i]-'0') * w[i]
		}
		k := (11 - sum%11) % 11
		if k == 10 || int(s[8]-'0') != k {
			t.Errorf("%s fails the mod-11 check", s)
		}
		if seen[s] {
			t.Errorf("%s twice", s)
		}
		seen[s] = true
	}
	if DemoOrgnrs()[0] != "312229544" {
		t.Error("the JFT Test municipality must come first")
	}
}

func TestSyntheticOrgnrsPassMod11(t *testing.T) {
	got := SyntheticOrgnrs(50)
	seen := map[string]bool{}
	for _, o := range got {
		if !transformValid(o) || o[0] != '3' || seen[o] {
			t.Errorf("%s: not a distinct valid synthetic organisation number", o)
		}
		seen[o] = true
	}
	if len(got) != 50 {
		t.Errorf("%d numbers", len(got))
	}
}

// transformValid is the mod 11 rule written out independently of SyntheticOrgnrs.
func transformValid(s string) bool {
	if len(s) != 9 {
		return false
	}
	sum := 0
	for i, w := range []int{3, 2, 7, 6, 5, 4, 3, 2} {
		sum += int(s[i]-'0') * w
	}
	r := 11 - sum%11
	if r == 11 {
		r = 0
	}
	return r != 10 && int(s[8]-'0') == r
}
