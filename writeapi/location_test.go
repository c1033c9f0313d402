package writeapi

import (
	"net/url"
	"strings"
	"testing"
)

// referenceLocation is what resolveLocation must return: loc resolved by net/url against
// the request URL, and the id read from the resolved path's segments.
func referenceLocation(req *url.URL, loc string) (abs, id string, ok bool) {
	u, err := url.Parse(loc)
	if err != nil {
		return "", "", false
	}
	r := req.ResolveReference(u)
	parts := strings.Split(strings.Trim(r.Path, "/"), "/")
	if n := len(parts); n >= 4 && parts[n-1] == "$status" && parts[n-4] == "v1" {
		id = parts[n-2]
	}
	return r.String(), id, true
}

// FuzzResolveLocation holds the short way for plain absolute paths (the origin put in
// front) to net/url's resolution, for any Location header.
func FuzzResolveLocation(f *testing.F) {
	for _, loc := range []string{
		"/v1/Bundle/7b0c2b2e-5d7a-4f8e-9a51-3d1c7e2f9a10/$status",
		"/v1/MedicationDispense/a.b/$status", "/v1/Bundle/x/$status/", "/v1//x/$status",
		"/api/v1/Bundle/x/$status", "v1/Bundle/x/$status", "/v1/Bundle/../x/$status",
		"/v1/Bundle/./x/$status", "/v1/Bundle/x/%24status", "/v1/Bundle/x/$status?y=1",
		"//elsewhere.example/v1/Bundle/x/$status", "https://api.read.jft.test.nhn.no/v1/Bundle/x/$status",
		"/v1/Bundle/x/$status#f", "/", "/.", "/..", "/a.", "", "/v1/Bundle/x y/$status", "/v1/Bundle/x/..",
	} {
		f.Add("/base/", loc)
		f.Add("", loc)
	}
	f.Fuzz(func(t *testing.T, basePath, loc string) {
		cfg := testConfig("https://writeapi.example:8443" + basePath)
		base, err := cfg.Base()
		if err != nil {
			t.Skip()
		}
		c, err := New(cfg, NoAuth{})
		if err != nil {
			t.Skip()
		}
		req := *base
		req.Path = strings.TrimSuffix(base.Path, "/") + "/v1/Bundle"
		req.RawPath = ""
		abs, id, err := c.resolveLocation(&req, loc)
		wantAbs, wantID, ok := referenceLocation(&req, loc)
		if (err == nil) != ok {
			t.Fatalf("%q: error %v, net/url ok %v", loc, err, ok)
		}
		if abs != wantAbs || id != wantID {
			t.Fatalf("%q: got %q, %q; net/url gives %q, %q", loc, abs, id, wantAbs, wantID)
		}
	})
}
