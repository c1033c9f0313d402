package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// decoders are reused between events: a jsontext.Decoder keeps its state stacks.
var decoders = sync.Pool{New: func() any { return new(jsontext.Decoder) }}

// decodeOptions keep encoding/json's reading of a document (FuzzDecodeAgreesWithEncodingJSON
// holds decode to it): a repeated name keeps its last value, and an escaped lone surrogate
// becomes U+FFFD. Raw invalid UTF-8 never gets here.
var decodeOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// emptyInput is what a pooled decoder reads between events, so that it holds no event.
var emptyInput = new(bytes.Buffer)

// decode parses the event once into a generic tree, as encoding/json with UseNumber would
// (objects as map[string]any, arrays as []any, numbers as json.Number, kept exact), in
// one pass of jsontext's tokenizer. Anything after the value but white space is refused.
func decode(value []byte) (map[string]any, error) {
	if !utf8.Valid(value) {
		return nil, jft.Permanentf(jft.CodeInvalidJSON, "event is not UTF-8")
	}
	dec := decoders.Get().(*jsontext.Decoder)
	defer func() { dec.Reset(emptyInput); decoders.Put(dec) }()
	dec.Reset(bytes.NewBuffer(value), decodeOptions...)
	doc, err := tree(dec)
	if err != nil {
		return nil, jft.Permanentf(jft.CodeInvalidJSON, "event is not valid JSON")
	}
	if _, err := dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, jft.Permanentf(jft.CodeInvalidJSON, "event has data after its JSON value")
	}
	m, ok := doc.(map[string]any)
	if !ok {
		return nil, jft.Permanentf(jft.CodeFHIRStructure, "event must be a JSON object (a FHIR resource)")
	}
	return m, nil
}

// tree reads one JSON value. Nesting is bounded by jsontext (10,000 levels).
func tree(dec *jsontext.Decoder) (any, error) {
	tok, err := dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		m := map[string]any{}
		for dec.PeekKind() != '}' {
			name, err := dec.ReadToken()
			if err != nil {
				return nil, err
			}
			k := name.String() // before the next read voids the token
			v, err := tree(dec)
			if err != nil {
				return nil, err
			}
			m[k] = v
		}
		_, err := dec.ReadToken()
		return m, err
	case '[':
		a := []any{}
		for dec.PeekKind() != ']' {
			v, err := tree(dec)
			if err != nil {
				return nil, err
			}
			a = append(a, v)
		}
		_, err := dec.ReadToken()
		return a, err
	case '"':
		return tok.String(), nil
	case '0':
		return json.Number(tok.String()), nil
	case 't':
		return true, nil
	case 'f':
		return false, nil
	}
	return nil, nil // 'n'
}
