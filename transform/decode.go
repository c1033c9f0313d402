package transform

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/jft-gateway/jft-gateway/internal/jft"
)

// builders are reused between events: a builder keeps its decoder's state stacks and its
// own stacks of pending members and items.
var builders = sync.Pool{New: func() any { return new(builder) }}

// object is a JSON object of the tree: its members in the byte order of their names, each
// name once, with the last value given (as encoding/json keeps it). The walker visits
// members in this order, which makes its findings' order stable.
type object []member

type member struct {
	name  string
	value any
}

// array is a JSON array of the tree.
type array []any

// lookup returns the value of name and whether o has it; a nil o has nothing.
func (o *object) lookup(name string) (any, bool) {
	if o == nil {
		return nil, false
	}
	ms := *o
	if len(ms) <= 8 {
		for i := range ms {
			if ms[i].name == name {
				return ms[i].value, true
			}
		}
		return nil, false
	}
	i, ok := slices.BinarySearchFunc(ms, name, func(m member, n string) int { return strings.Compare(m.name, n) })
	if !ok {
		return nil, false
	}
	return ms[i].value, true
}

// get returns the value of name, nil when o does not have it.
func (o *object) get(name string) any {
	v, _ := o.lookup(name)
	return v
}

// builder reads one document into a tree. Members and items wait on its stacks until their
// object or array closes; then they are copied, sorted, into storage carved from chunks
// that belong to that one tree, so that a tree costs a few allocations, not one or two per
// object and array.
type builder struct {
	dec     jsontext.Decoder
	members []member
	items   []any
	// The current tree's chunks (see carve).
	objs     []object
	arrs     []array
	memStore []member
	anyStore []any
}

// names holds every element name of the generated tables (and "_" + name, and
// "resourceType"), so that a name in an event becomes a string without an allocation.
var names = map[string]string{}

// decodeOptions keep encoding/json's reading of a document (FuzzDecodeAgreesWithEncodingJSON
// holds decode to it): a repeated name keeps its last value, and an escaped lone surrogate
// becomes U+FFFD. Raw invalid UTF-8 never gets here.
var decodeOptions = []jsontext.Options{jsontext.AllowDuplicateNames(true), jsontext.AllowInvalidUTF8(true)}

// emptyInput is what a pooled decoder reads between events, so that it holds no event.
var emptyInput = new(bytes.Buffer)

// decode parses the event once into a tree (objects as *object, arrays as *array, strings,
// numbers as json.Number kept exact, booleans and nil) that holds what encoding/json with
// UseNumber reads, in one pass of jsontext's tokenizer. Anything after the value but white
// space is refused.
func decode(value []byte) (*object, error) {
	if !utf8.Valid(value) {
		return nil, jft.Permanentf(jft.CodeInvalidJSON, "event is not UTF-8")
	}
	b := builders.Get().(*builder)
	defer func() {
		b.dec.Reset(emptyInput)
		cut(&b.members, 0) // what an error left; closed objects and arrays cut theirs
		cut(&b.items, 0)
		b.objs, b.arrs, b.memStore, b.anyStore = nil, nil, nil, nil // the tree's now
		builders.Put(b)
	}()
	// First chunks sized for a typical FHIR document of this length.
	n := len(value)
	b.objs = make([]object, 0, min(max(n/96, 8), 1024))
	b.arrs = make([]array, 0, min(max(n/192, 4), 512))
	b.memStore = make([]member, 0, min(max(n/32, 16), 4096))
	b.anyStore = make([]any, 0, min(max(n/96, 8), 1024))
	b.dec.Reset(bytes.NewBuffer(value), decodeOptions...)
	doc, err := b.tree()
	if err != nil {
		return nil, jft.Permanentf(jft.CodeInvalidJSON, "event is not valid JSON")
	}
	if _, err := b.dec.ReadToken(); !errors.Is(err, io.EOF) {
		return nil, jft.Permanentf(jft.CodeInvalidJSON, "event has data after its JSON value")
	}
	m, ok := doc.(*object)
	if !ok {
		return nil, jft.Permanentf(jft.CodeFHIRStructure, "event must be a JSON object (a FHIR resource)")
	}
	return m, nil
}

// tree reads one JSON value. Nesting is bounded by jsontext (10,000 levels).
func (b *builder) tree() (any, error) {
	tok, err := b.dec.ReadToken()
	if err != nil {
		return nil, err
	}
	switch tok.Kind() {
	case '{':
		mark := len(b.members)
		for b.dec.PeekKind() != '}' {
			name, err := b.name()
			if err != nil {
				return nil, err
			}
			v, err := b.tree()
			if err != nil {
				return nil, err
			}
			b.members = append(b.members, member{name, v})
		}
		o := b.object(b.members[mark:])
		cut(&b.members, mark)
		_, err := b.dec.ReadToken()
		return o, err
	case '[':
		mark := len(b.items)
		for b.dec.PeekKind() != ']' {
			v, err := b.tree()
			if err != nil {
				return nil, err
			}
			b.items = append(b.items, v)
		}
		a := b.array(b.items[mark:])
		cut(&b.items, mark)
		_, err := b.dec.ReadToken()
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

// object stores ms, sorted by name with each name's last value, as a new object.
func (b *builder) object(ms []member) *object {
	slices.SortStableFunc(ms, func(x, y member) int { return strings.Compare(x.name, y.name) })
	n := 0
	for i := range ms {
		if i+1 < len(ms) && ms[i+1].name == ms[i].name {
			continue // a later value of the same name follows
		}
		ms[n] = ms[i]
		n++
	}
	o := carve(&b.objs, object(carve(&b.memStore, ms[:n]...)))
	return &o[0]
}

// array stores items as a new array.
func (b *builder) array(items []any) *array {
	a := carve(&b.arrs, array(carve(&b.anyStore, items...)))
	return &a[0]
}

// carve copies items to the end of the chunk *store and returns the copy, capped so that
// nothing appends over what follows it. A chunk without room is left to the tree and a new
// one, twice as large or as large as items, started: one is never grown in place.
func carve[E any](store *[]E, items ...E) []E {
	if cap(*store)-len(*store) < len(items) {
		*store = make([]E, 0, max(len(items), 2*cap(*store)))
	}
	at := len(*store)
	*store = append(*store, items...)
	return (*store)[at:len(*store):len(*store)]
}

// cut shortens the stack *s to mark, clearing what it drops so that a pooled builder holds
// on to no tree.
func cut[E any](s *[]E, mark int) {
	clear((*s)[mark:])
	*s = (*s)[:mark]
}

// name reads an object's name: a known element name without an allocation.
func (b *builder) name() (string, error) {
	raw, err := b.dec.ReadValue()
	if err != nil {
		return "", err
	}
	if q := raw[1 : len(raw)-1]; bytes.IndexByte(q, '\\') < 0 {
		if s, ok := names[string(q)]; ok {
			return s, nil
		}
		return string(q), nil
	}
	// raw is a JSON string ReadValue has checked, so the one error left is an escaped lone
	// surrogate: AppendUnquote then writes U+FFFD, as the decoder reads it in values
	// (AllowInvalidUTF8) and as encoding/json does.
	u, _ := jsontext.AppendUnquote(nil, raw)
	return string(u), nil
}
