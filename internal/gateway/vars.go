package gateway

import (
	"reflect"
	"strings"
)

// Variable is one environment variable read by a configuration struct.
type Variable struct {
	Name     string
	Default  string
	Required bool
	// Section is the Go path of the field, e.g. "Consumer.Ordering".
	Section string
}

// Variables lists the variables that cfg (a pointer to or value of a struct with go-envconfig
// tags, nested structs included) reads, in field order. `jft-gateway help` prints them and a
// test keeps docs/configuration.md in step.
func Variables(cfg any) []Variable {
	var out []Variable
	walk(reflect.TypeOf(cfg), "", &out)
	return out
}

func walk(t reflect.Type, path string, out *[]Variable) {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return
	}
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		p := f.Name
		if path != "" {
			p = path + "." + f.Name
		}
		tag, ok := f.Tag.Lookup("env")
		if !ok {
			walk(f.Type, p, out)
			continue
		}
		*out = append(*out, parseTag(tag, p))
	}
}

// parseTag reads `NAME, opt, default=value`; a default runs to the end of the tag, so it
// may contain commas.
func parseTag(tag, path string) Variable {
	v := Variable{Section: path}
	name, rest, _ := strings.Cut(tag, ",")
	v.Name = strings.TrimSpace(name)
	for rest != "" {
		rest = strings.TrimLeft(rest, " ")
		if d, ok := strings.CutPrefix(rest, "default="); ok {
			v.Default = d
			break
		}
		var opt string
		opt, rest, _ = strings.Cut(rest, ",")
		if strings.TrimSpace(opt) == "required" {
			v.Required = true
		}
	}
	return v
}
