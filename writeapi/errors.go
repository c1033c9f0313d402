package writeapi

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// maxErrorBody bounds how much of an error answer is read.
const maxErrorBody = 64 << 10

// classifyResponse turns a non-202 answer into a *jft.Error, decided once: 4xx permanent
// except 408 and 429; everything else transient. The body is parsed leniently (FHIR
// OperationOutcome, then RFC 7807 problem details) into issues; it is never copied whole.
func classifyResponse(resp *http.Response) error {
	status := resp.StatusCode
	e := &jft.Error{Message: "WriteAPI answered " + strconv.Itoa(status)}
	switch {
	case status == http.StatusBadRequest:
		e.Code, e.Permanent = jft.CodeAPIBadRequest, true
	case status == http.StatusUnauthorized:
		e.Code, e.Permanent = jft.CodeAPIUnauthorized, true
	case status == http.StatusForbidden:
		e.Code, e.Permanent = jft.CodeAPIForbidden, true
	case status == http.StatusNotFound:
		e.Code, e.Permanent = jft.CodeAPINotFound, true
	case status == http.StatusRequestEntityTooLarge:
		e.Code, e.Permanent = jft.CodeAPITooLarge, true
	case status == http.StatusRequestTimeout:
		e.Code = jft.CodeAPITimeout
	case status == http.StatusTooManyRequests:
		e.Code = jft.CodeAPIRateLimited
	case status >= 400 && status < 500:
		e.Code, e.Permanent = jft.CodeAPIRejected, true
	case status >= 500:
		e.Code = jft.CodeAPIUnavailable
	default:
		// 1xx/2xx other than 202, 3xx: not what the WriteAPI documents.
		e.Code = jft.CodeAPIBadResponse
	}
	if !e.Permanent {
		e.RetryAfterSeconds = retryAfter(resp.Header.Get("Retry-After"), time.Now())
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
	e.Issues = parseIssues(body)
	return e
}

// retryAfter reads delay-seconds or an HTTP date; 0 when absent or unreadable.
func retryAfter(v string, now time.Time) int {
	if v == "" {
		return 0
	}
	if s, err := strconv.Atoi(strings.TrimSpace(v)); err == nil && s >= 0 {
		return s
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := t.Sub(now); d > 0 {
			return int(d.Seconds() + 0.999)
		}
	}
	return 0
}

// operationOutcome is the part of a FHIR OperationOutcome we read.
type operationOutcome struct {
	ResourceType string `json:"resourceType"`
	Issue        []struct {
		Severity    string   `json:"severity"`
		Code        string   `json:"code"`
		Diagnostics string   `json:"diagnostics"`
		Expression  []string `json:"expression"`
		Location    []string `json:"location"`
		Details     *struct {
			Text   string `json:"text"`
			Coding []struct {
				Code string `json:"code"`
			} `json:"coding"`
		} `json:"details"`
	} `json:"issue"`
}

// problemDetails is RFC 7807 (ASP.NET's default error body).
type problemDetails struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

// parseIssues reads issues from an error body: OperationOutcome issues with their
// expression as path, or one issue from problem details. Texts go through sanitize.
func parseIssues(body []byte) []jft.Issue {
	var oo operationOutcome
	if json.Unmarshal(body, &oo) == nil && oo.ResourceType == "OperationOutcome" {
		var out []jft.Issue
		for _, is := range oo.Issue {
			if len(out) == jft.MaxIssues {
				break
			}
			msg := is.Diagnostics
			if is.Details != nil && is.Details.Text != "" {
				msg = is.Details.Text
			}
			path := ""
			if len(is.Expression) > 0 {
				path = is.Expression[0]
			} else if len(is.Location) > 0 {
				path = is.Location[0]
			}
			sev := jft.Severity(is.Severity)
			switch sev {
			case jft.SeverityFatal, jft.SeverityError, jft.SeverityWarning, jft.SeverityInformation:
			default:
				sev = jft.SeverityError
			}
			out = append(out, jft.Issue{Severity: sev, Code: jft.Code(sanitize(is.Code, 64)), Path: sanitize(path, 200), Message: sanitize(msg, 300)})
		}
		return out
	}
	var pd problemDetails
	if json.Unmarshal(body, &pd) == nil && (pd.Title != "" || pd.Type != "") {
		msg := pd.Title
		if pd.Detail != "" {
			msg += ": " + pd.Detail
		}
		return []jft.Issue{{Severity: jft.SeverityError, Code: "problem", Message: sanitize(msg, 300)}}
	}
	return nil
}

// sanitize keeps a server's text safe to store in a result: printable characters only,
// truncated, and any run of 9 or more digits (an identity or organisation number the
// server may have echoed) replaced by "#".
func sanitize(s string, max int) string {
	var b strings.Builder
	flush := func(run string) {
		if len(run) >= 9 {
			b.WriteString("#")
		} else {
			b.WriteString(run)
		}
	}
	start := -1
	for i, r := range s {
		if unicode.IsDigit(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			flush(s[start:i])
			start = -1
		}
		if unicode.IsPrint(r) {
			b.WriteRune(r)
		} else {
			b.WriteRune(' ')
		}
	}
	if start >= 0 {
		flush(s[start:])
	}
	out := b.String()
	if len(out) > max {
		cut := max
		for cut > 0 && !utf8Start(out[cut]) {
			cut--
		}
		out = out[:cut] + "…"
	}
	return out
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }
