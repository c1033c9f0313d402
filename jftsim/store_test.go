package jftsim

import (
	"crypto/sha256"
	"encoding/hex"
	"reflect"
	"regexp"
	"testing"
	"time"
)

// TestStoredRecordsHoldNoPointers: the garbage collector skips pointer-free memory, so the
// stored events cost it nothing however many there are. A string, slice, map or pointer
// field would undo that.
func TestStoredRecordsHoldNoPointers(t *testing.T) {
	var check func(reflect.Type, string)
	check = func(ty reflect.Type, path string) {
		switch ty.Kind() {
		case reflect.Struct:
			for i := range ty.NumField() {
				check(ty.Field(i).Type, path+"."+ty.Field(i).Name)
			}
		case reflect.Array:
			check(ty.Elem(), path+"[]")
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		default:
			t.Errorf("%s is a %s: the garbage collector would scan every stored event", path, ty.Kind())
		}
	}
	check(reflect.TypeFor[record](), "record")
	check(reflect.TypeFor[guid](), "guid")
}

func TestGUIDs(t *testing.T) {
	st := newStore(0)
	canonical := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := st.add(Event{ResourceType: "Bundle", Tenant: "312229544", Registered: time.Now()}, nil)
		if !canonical.MatchString(id) || seen[id] {
			t.Fatalf("id %q: not a fresh version-4 UUID", id)
		}
		seen[id] = true
		if g, ok := parseGUID(id); !ok || g.String() != id {
			t.Fatalf("%q does not round-trip: %v %v", id, g, ok)
		}
	}
	for _, bad := range []string{"", "0bf2c5e1-4c4f-4b5e-9c1e-8a0f3e4d2b1", "0BF2C5E1-4C4F-4B5E-9C1E-8A0F3E4D2B1A",
		"0bf2c5e1-4c4f-4b5e-9c1e-8a0f3e4d2b1g", "0bf2c5e14c4f-4b5e-9c1e-8a0f3e4d2b1a0", "0bf2c5e1-4c4f-4b5e-9c1e+8a0f3e4d2b1a"} {
		if _, ok := parseGUID(bad); ok {
			t.Errorf("%q parsed as an id", bad)
		}
	}
}

func TestTraceID(t *testing.T) {
	for tp, want := range map[string]string{
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01": "4bf92f3577b34da6a3ce929d0e0e4736",
		"00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01": "",
		"00-00000000000000000000000000000000-00f067aa0ba902b7-01": "",
		"00-4bf92f3577b34da6a3ce929d0e0e473x-00f067aa0ba902b7-01": "",
		"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7":    "",
		"": "",
	} {
		if got := traceID(tp); got != want {
			t.Errorf("traceID(%q) = %q, want %q", tp, got, want)
		}
	}
}

// TestStoreKeepsWhatItWasGiven: an event comes back as it went in, through the compact
// record and the interned strings.
func TestStoreKeepsWhatItWasGiven(t *testing.T) {
	st := newStore(1 << 10)
	at := time.Date(2026, 11, 25, 10, 0, 0, 123, time.UTC)
	in := Event{ResourceType: "Composition", Tenant: "312229544", SourceSystem: "Bruno V0.1.2", ClientID: "c1",
		TraceID: "4bf92f3577b34da6a3ce929d0e0e4736", Registered: at}
	id := st.add(in, []byte(`{"resourceType":"Composition"}`))
	other := st.add(Event{ResourceType: "Bundle", Tenant: "212229545", Registered: at}, []byte(`{}`))
	got, body, ok := st.find("Composition", id, "312229544", false, 0)
	if !ok || string(body) != `{"resourceType":"Composition"}` {
		t.Fatalf("find: %+v %q %v", got, body, ok)
	}
	sum := sha256.Sum256(body)
	in.ID, in.BodySHA256 = id, hex.EncodeToString(sum[:])
	if !reflect.DeepEqual(got, in) {
		t.Errorf("got  %+v\nwant %+v", got, in)
	}
	for _, q := range []struct{ typ, id, tenant string }{{"Bundle", id, "312229544"}, {"Composition", id, "212229545"}, {"Composition", other, "212229545"}} {
		if _, _, ok := st.find(q.typ, q.id, q.tenant, false, 0); ok {
			t.Errorf("found %+v", q)
		}
	}
	if _, _, ok := st.find("Composition", id, "212229545", true, 0); !ok {
		t.Error("any tenant: not found")
	}
	long := st.add(Event{ResourceType: "Bundle", Tenant: "212229545", TraceID: in.TraceID + in.TraceID, Registered: at}, nil)
	if e, _, _ := st.find("Bundle", long, "", true, 0); e.TraceID != "" {
		t.Errorf("a 64-digit trace id kept as %q", e.TraceID)
	}
	if evs := st.events(); len(evs) != 3 || evs[0].ID != id || evs[1].ID != other || evs[1].TraceID != "" {
		t.Errorf("events %+v", evs)
	}
}
