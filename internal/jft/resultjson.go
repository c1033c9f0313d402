package jft

import (
	"fmt"
	"strconv"
	"time"
	"unicode/utf8"
)

// AppendJSON appends r as encoding/json's Marshal writes it, byte for byte
// (FuzzResultJSONMatchesEncodingJSON holds it to that), without reflection: a result is
// written for every input record.
func (r *Result) AppendJSON(b []byte) ([]byte, error) {
	b = append(b, `{"schema":`...)
	b = appendString(b, r.Schema)
	b = append(b, `,"eventId":`...)
	b = appendString(b, r.EventID)
	b = append(b, `,"kind":`...)
	b = appendString(b, string(r.Kind))
	if r.Tenant != "" {
		b = append(b, `,"tenant":`...)
		b = appendString(b, r.Tenant)
	}
	if r.ResourceType != "" {
		b = append(b, `,"resourceType":`...)
		b = appendString(b, r.ResourceType)
	}
	if r.ResourceID != "" {
		b = append(b, `,"resourceId":`...)
		b = appendString(b, r.ResourceID)
	}
	b = append(b, `,"source":{"topic":`...)
	b = appendString(b, r.Source.Topic)
	b = append(b, `,"partition":`...)
	b = strconv.AppendInt(b, int64(r.Source.Partition), 10)
	b = append(b, `,"offset":`...)
	b = strconv.AppendInt(b, r.Source.Offset, 10)
	b = append(b, `},"outcome":`...)
	b = appendString(b, string(r.Outcome))
	if r.HTTPStatus != 0 {
		b = append(b, `,"httpStatus":`...)
		b = strconv.AppendInt(b, int64(r.HTTPStatus), 10)
	}
	if r.Location != "" {
		b = append(b, `,"location":`...)
		b = appendString(b, r.Location)
	}
	if r.Error != nil {
		b = append(b, `,"error":{"code":`...)
		b = appendString(b, string(r.Error.Code))
		b = append(b, `,"message":`...)
		b = appendString(b, r.Error.Message)
		if len(r.Error.Issues) > 0 {
			b = append(b, `,"issues":`...)
			b = appendIssues(b, r.Error.Issues)
		}
		b = append(b, '}')
	}
	if len(r.Warnings) > 0 {
		b = append(b, `,"warnings":`...)
		b = appendIssues(b, r.Warnings)
	}
	b = append(b, `,"attempts":`...)
	b = strconv.AppendInt(b, int64(r.Attempts), 10)
	var err error
	b = append(b, `,"receivedAt":`...)
	if b, err = appendTime(b, r.ReceivedAt); err != nil {
		return nil, err
	}
	b = append(b, `,"completedAt":`...)
	if b, err = appendTime(b, r.CompletedAt); err != nil {
		return nil, err
	}
	if r.TraceID != "" {
		b = append(b, `,"traceId":`...)
		b = appendString(b, r.TraceID)
	}
	return append(b, '}'), nil
}

func appendIssues(b []byte, issues []Issue) []byte {
	b = append(b, '[')
	for i, is := range issues {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"severity":`...)
		b = appendString(b, string(is.Severity))
		b = append(b, `,"code":`...)
		b = appendString(b, string(is.Code))
		if is.Path != "" {
			b = append(b, `,"path":`...)
			b = appendString(b, is.Path)
		}
		b = append(b, `,"message":`...)
		b = appendString(b, is.Message)
		b = append(b, '}')
	}
	return append(b, ']')
}

// appendTime writes t as time.Time's MarshalJSON does (its AppendText, quoted), refusing
// what it refuses.
func appendTime(b []byte, t time.Time) ([]byte, error) {
	b = append(b, '"')
	b, err := t.AppendText(b)
	if err != nil {
		return nil, fmt.Errorf("encode result: %w", err)
	}
	return append(b, '"'), nil
}

const hex = "0123456789abcdef"

// appendString quotes s with encoding/json's escaping: '"', '\\' and control characters,
// '<', '>' and '&' (HTML-safe), U+2028 and U+2029, and invalid UTF-8 as U+FFFD.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
