package transform

import (
	"strings"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// Identifier systems (HL7 Norway no-basis, jft-facts.md §3.4).
const (
	SystemFNR   = "urn:oid:2.16.578.1.12.4.1.4.1"
	SystemDNR   = "urn:oid:2.16.578.1.12.4.1.4.2"
	SystemFHN   = "urn:oid:2.16.578.1.12.4.1.4.3"
	SystemOrgnr = "urn:oid:2.16.578.1.12.4.1.4.101"
)

// NINKind is the kind of a Norwegian person identifier.
type NINKind int

const (
	KindFNR NINKind = iota // fødselsnummer
	KindDNR                // D-number: day + 40
	KindHNR                // H-number: month + 40
)

// NIN is a parsed identity number.
type NIN struct {
	Kind      NINKind
	Synthetic bool
}

var (
	k1Weights = [9]int{3, 7, 6, 1, 8, 9, 4, 5, 2}
	k2Weights = [10]int{5, 4, 3, 2, 7, 6, 5, 4, 3, 2}
)

// ParseNIN checks an 11-digit identity number: both check digits (K1 accepting the
// remainders 0–3 of the rule for numbers issued from 2032), a real date with the century
// from the individual number, and the kind and synthetic marker from the day and month
// offsets. syntheticMonths are the synthetic month offsets (default 65 and 80).
func ParseNIN(s string, syntheticMonths []int) (NIN, jft.Code) {
	if len(s) != 11 || strings.Trim(s, "0123456789") != "" {
		return NIN{}, jft.CodeNINFormat
	}
	var d [11]int
	for i := range 11 {
		d[i] = int(s[i] - '0')
	}
	sum := 0
	for i, w := range k1Weights {
		sum += d[i] * w
	}
	if r := (sum + d[9]) % 11; r > 3 {
		return NIN{}, jft.CodeNINChecksum
	}
	sum = 0
	for i, w := range k2Weights {
		sum += d[i] * w
	}
	if (sum+d[10])%11 != 0 {
		return NIN{}, jft.CodeNINChecksum
	}
	var n NIN
	day := d[0]*10 + d[1]
	month := d[2]*10 + d[3]
	if day > 40 {
		n.Kind = KindDNR
		day -= 40
	}
	switch {
	case month >= 1 && month <= 12:
	case month >= 41 && month <= 52:
		n.Kind = KindHNR
		month -= 40
	default:
		for _, off := range syntheticMonths {
			if month > off && month <= off+12 {
				n.Synthetic = true
				month -= off
				break
			}
		}
		if !n.Synthetic {
			return NIN{}, jft.CodeNINInvalidDate
		}
	}
	yy := d[4]*10 + d[5]
	ind := d[6]*100 + d[7]*10 + d[8]
	year, ok := century(yy, ind)
	if !ok || !validDate(year, month, day) {
		return NIN{}, jft.CodeNINInvalidDate
	}
	return n, ""
}

// century maps the two-digit year and the individual number to a full year (Forskrift om
// folkeregistrering §2-2, jft-facts.md §3.1).
func century(yy, ind int) (int, bool) {
	switch {
	case ind <= 499:
		return 1900 + yy, true
	case ind >= 900 && yy >= 40:
		return 1900 + yy, true
	case ind >= 500 && yy <= 39:
		return 2000 + yy, true
	case ind >= 500 && ind <= 749 && yy >= 54:
		return 1800 + yy, true
	}
	return 0, false
}

func validDate(year, month, day int) bool {
	if month < 1 || month > 12 || day < 1 {
		return false
	}
	days := [13]int{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}[month]
	if month == 2 && (year%4 == 0 && (year%100 != 0 || year%400 == 0)) {
		days = 29
	}
	return day <= days
}

// CheckOrgnr checks a 9-digit organisation number: mod 11 with weights 3 2 7 6 5 4 3 2
// (a remainder giving 10 means no valid number).
func CheckOrgnr(s string) jft.Code {
	if len(s) != 9 || strings.Trim(s, "0123456789") != "" {
		return jft.CodeOrgnrFormat
	}
	weights := [8]int{3, 2, 7, 6, 5, 4, 3, 2}
	sum := 0
	for i, w := range weights {
		sum += int(s[i]-'0') * w
	}
	k := 11 - sum%11
	if k == 11 {
		k = 0
	}
	if k == 10 || k != int(s[8]-'0') {
		return jft.CodeOrgnrChecksum
	}
	return ""
}

// syntheticOrgnr applies the configured prefix rule.
func (t *Transformer) syntheticOrgnr(s string) bool {
	for _, p := range t.cfg.SyntheticOrgnrPrefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// orgnrPolicy returns the code for an organisation number that is valid but wrong for the
// environment, or "".
func (t *Transformer) orgnrPolicy(s string) jft.Code {
	synth := t.syntheticOrgnr(s)
	switch {
	case t.cfg.Environment == "test" && !synth:
		return jft.CodeOrgnrRealInTest
	case t.cfg.Environment == "prod" && synth:
		return jft.CodeOrgnrSynthInProd
	}
	return ""
}

// ninPolicy returns the code for a valid identity number that is wrong for the environment.
func (t *Transformer) ninPolicy(n NIN) jft.Code {
	switch {
	case t.cfg.Environment == "test" && !n.Synthetic:
		return jft.CodeNINRealInTest
	case t.cfg.Environment == "prod" && n.Synthetic:
		return jft.CodeNINSyntheticInProd
	}
	return ""
}
