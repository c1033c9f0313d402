package jftsim

// Norwegian identifier checks as the WriteAPI applies them (jft-facts.md §3), written for
// the simulator on its own so that it can catch the gateway's mistakes.

// ninVerdict is what the simulator concludes about an identity number.
type ninVerdict int

const (
	ninInvalid ninVerdict = iota
	ninReal
	ninSynthetic
)

func digitsOf(s string, n int) ([]int, bool) {
	if len(s) != n {
		return nil, false
	}
	d := make([]int, n)
	for i := 0; i < n; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return nil, false
		}
		d[i] = int(c - '0')
	}
	return d, true
}

// judgeNIN classifies an 11-digit fødselsnummer or D-number: invalid (format, check
// digits, date), real, or synthetic (month + one of synthOffsets).
func judgeNIN(s string, synthOffsets []int) ninVerdict {
	d, ok := digitsOf(s, 11)
	if !ok {
		return ninInvalid
	}
	// Control digit 1 (remainders 0–3 allowed, the rule for numbers from 2032).
	s1 := 3*d[0] + 7*d[1] + 6*d[2] + 1*d[3] + 8*d[4] + 9*d[5] + 4*d[6] + 5*d[7] + 2*d[8] + d[9]
	if s1%11 > 3 {
		return ninInvalid
	}
	s2 := 5*d[0] + 4*d[1] + 3*d[2] + 2*d[3] + 7*d[4] + 6*d[5] + 5*d[6] + 4*d[7] + 3*d[8] + 2*d[9] + d[10]
	if s2%11 != 0 {
		return ninInvalid
	}
	day, month := d[0]*10+d[1], d[2]*10+d[3]
	if day > 40 { // D-number
		day -= 40
	}
	verdict := ninReal
	if month > 12 {
		found := false
		for _, off := range synthOffsets {
			if month-off >= 1 && month-off <= 12 {
				month -= off
				verdict, found = ninSynthetic, true
				break
			}
		}
		// An H-number (month + 40) is a local help number, not a fødselsnummer or D-number.
		if !found {
			return ninInvalid
		}
	}
	if day < 1 || day > 31 || month < 1 || month > 12 {
		return ninInvalid
	}
	if month == 2 && day > 29 || (month == 4 || month == 6 || month == 9 || month == 11) && day > 30 {
		return ninInvalid
	}
	return verdict
}

// orgnrValid checks 9 digits and the mod-11 check digit (weights 3 2 7 6 5 4 3 2).
func orgnrValid(s string) bool {
	d, ok := digitsOf(s, 9)
	if !ok {
		return false
	}
	w := []int{3, 2, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i := range w {
		sum += d[i] * w[i]
	}
	r := sum % 11
	check := 0
	if r != 0 {
		check = 11 - r
	}
	return check != 10 && check == d[8]
}

func (s *Sim) orgnrSynthetic(v string) bool {
	for _, p := range s.cfg.SyntheticOrgnrPrefixes {
		if len(v) >= len(p) && v[:len(p)] == p {
			return true
		}
	}
	return false
}
