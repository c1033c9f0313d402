package jftsim

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("internal/poll.runtime_pollWait"), goleak.IgnoreTopFunction("net/http.(*persistConn).writeLoop"))
}

func cfg(mut ...func(*Config)) Config {
	c := Config{Addr: "127.0.0.1:0", Environment: "test", Auth: "off", MaxBodyBytes: 1000000, ReadBodyBytes: 1 << 20,
		SyntheticOrgnrPrefixes: []string{"2", "3"}, SyntheticNINMonthOffsets: []int{65, 80},
		TokenLifetime: 5 * time.Minute, RetryAfter: 1, HangMax: 2 * time.Second, Seed: 1}
	for _, m := range mut {
		m(&c)
	}
	return c
}

func server(t *testing.T, c Config) *Server {
	t.Helper()
	s, err := NewServer(c)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func post(t *testing.T, url, body string, headers ...string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

const validComposition = `{"resourceType":"Composition","status":"final","type":{"coding":[{"system":"http://loinc.org","code":"11488-4"}]},
 "subject":{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.1","value":"05898597468"}},"date":"2026-05-01T10:00:00+02:00",
 "author":[{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.101","value":"312229544"}}],"title":"Journalnotat"}`

const validDispense = `{"resourceType":"MedicationDispense","status":"completed","medicationCodeableConcept":{"text":"paracetamol"},
 "subject":{"reference":"Patient/1"}}`

func TestWriteAPIRules(t *testing.T) {
	tests := []struct {
		name     string
		env      string
		endpoint string
		body     string
		want     int
		wantExpr string
	}{
		{"valid Composition", "test", "Composition", validComposition, 202, ""},
		{"valid MedicationDispense", "test", "MedicationDispense", validDispense, 202, ""},
		{"valid Bundle", "test", "Bundle", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":` + validDispense + `}]}`, 202, ""},
		{"unsupported type", "test", "Patient", `{"resourceType":"Patient"}`, 404, ""},
		{"invalid JSON", "test", "Composition", `{"resourceType":`, 400, ""},
		{"data after the JSON value", "test", "Composition", validComposition + " }", 400, ""},
		{"white space after the JSON value", "test", "Composition", validComposition + " \n", 202, ""},
		{"resourceType differs from endpoint", "test", "Composition", validDispense, 400, "resourceType"},
		{"author as a single object", "test", "Composition", strings.Replace(validComposition, `"author":[{"identifier":{"system":"urn:oid:2.16.578.1.12.4.1.4.101","value":"312229544"}}]`, `"author":{"display":"x"}`, 1), 400, "Composition.author"},
		{"coding as a single object", "test", "Composition", strings.Replace(validComposition, `"coding":[{"system":"http://loinc.org","code":"11488-4"}]`, `"coding":{"code":"11488-4"}`, 1), 400, "Composition.type.coding"},
		{"title as an array", "test", "Composition", strings.Replace(validComposition, `"title":"Journalnotat"`, `"title":["a"]`, 1), 400, "Composition.title"},
		{"empty string", "test", "Composition", strings.Replace(validComposition, `"title":"Journalnotat"`, `"title":""`, 1), 400, "Composition.title"},
		{"empty object", "test", "MedicationDispense", strings.Replace(validDispense, `"subject":{"reference":"Patient/1"}`, `"subject":{}`, 1), 400, "MedicationDispense.subject"},
		{"missing mandatory title", "test", "Composition", strings.Replace(validComposition, `,"title":"Journalnotat"`, ``, 1), 400, "Composition.title"},
		{"missing medication[x]", "test", "MedicationDispense", strings.Replace(validDispense, `"medicationCodeableConcept":{"text":"paracetamol"},`, ``, 1), 400, "MedicationDispense.medication[x]"},
		{"status outside its value set", "test", "Composition", strings.Replace(validComposition, `"status":"final"`, `"status":"done"`, 1), 400, "Composition.status"},
		{"real NIN in test", "test", "Composition", strings.Replace(validComposition, "05898597468", "13116900216", 1), 400, "Composition.subject.identifier.value"},
		{"synthetic NIN in prod", "prod", "Composition", strings.Replace(validComposition, "312229544", "915933149", 1), 400, "Composition.subject.identifier.value"},
		{"real NIN in prod", "prod", "Composition", strings.Replace(strings.Replace(validComposition, "05898597468", "13116900216", 1), "312229544", "915933149", 1), 202, ""},
		{"NIN with a bad check digit", "test", "Composition", strings.Replace(validComposition, "05898597468", "05898597469", 1), 400, "Composition.subject.identifier.value"},
		{"real orgnr in test", "test", "Composition", strings.Replace(validComposition, "312229544", "915933149", 1), 400, "Composition.author[0].identifier.value"},
		{"synthetic orgnr in prod", "prod", "Composition", strings.Replace(validComposition, "05898597468", "13116900216", 1), 400, "Composition.author[0].identifier.value"},
		{"orgnr with a bad check digit", "test", "Composition", strings.Replace(validComposition, "312229544", "312229545", 1), 400, "Composition.author[0].identifier.value"},
		{"transaction entry without request", "test", "Bundle", `{"resourceType":"Bundle","type":"transaction","entry":[{"resource":` + validDispense + `}]}`, 400, "Bundle.entry[0].request"},
		{"nested resource checked", "test", "Bundle", `{"resourceType":"Bundle","type":"collection","entry":[{"resource":{"resourceType":"MedicationDispense","status":"completed"}}]}`, 400, "Bundle.entry[0].resource.medication[x]"},
	}
	servers := map[string]*Server{"test": server(t, cfg()), "prod": server(t, cfg(func(c *Config) { c.Environment = "prod" }))}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := servers[tt.env]
			resp, body := post(t, s.URL+"/v1/"+tt.endpoint, tt.body)
			if resp.StatusCode != tt.want {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tt.want, body)
			}
			if tt.want == 202 {
				if loc := resp.Header.Get("Location"); !strings.HasPrefix(loc, s.URL+"/v1/"+tt.endpoint+"/") || !strings.HasSuffix(loc, "/$status") {
					t.Errorf("Location %q", loc)
				}
				return
			}
			var oo struct {
				ResourceType string `json:"resourceType"`
				Issue        []struct {
					Expression []string `json:"expression"`
				} `json:"issue"`
			}
			if err := json.Unmarshal([]byte(body), &oo); err != nil || oo.ResourceType != "OperationOutcome" {
				t.Fatalf("answer is not an OperationOutcome: %s", body)
			}
			if tt.wantExpr == "" {
				return
			}
			for _, is := range oo.Issue {
				for _, e := range is.Expression {
					if e == tt.wantExpr {
						return
					}
				}
			}
			t.Fatalf("no issue at %s: %s", tt.wantExpr, body)
		})
	}
}

func TestSizeLimitIs413WithoutReadingEverything(t *testing.T) {
	s := server(t, cfg(func(c *Config) { c.MaxBodyBytes = 1000 }))
	resp, _ := post(t, s.URL+"/v1/Composition", strings.Repeat(" ", 1001))
	if resp.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("status %d", resp.StatusCode)
	}
	// Without Content-Length (chunked): still 413.
	pr, pw := io.Pipe()
	go func() {
		pw.Write([]byte(strings.Repeat(" ", 5000)))
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/Composition", pr)
	r2, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	if r2.StatusCode != http.StatusRequestEntityTooLarge {
		t.Fatalf("chunked: status %d", r2.StatusCode)
	}
}

func TestLifecycleAckStatusRead(t *testing.T) {
	s := server(t, cfg())
	resp, _ := post(t, s.URL+"/v1/MedicationDispense", validDispense, "nhn-source-system", "Bruno V0.1.2", "jft-tenant", "312229544",
		"traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")
	loc := resp.Header.Get("Location")
	id := strings.TrimSuffix(strings.TrimPrefix(loc, s.URL+"/v1/MedicationDispense/"), "/$status")
	status := func() map[string]any {
		r, err := http.Get(loc)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var m map[string]any
		json.NewDecoder(r.Body).Decode(&m)
		return m
	}
	if m := status(); m["registered"] == nil || m["read"] != nil || m["journaled"] != nil {
		t.Fatalf("fresh status %v", m)
	}
	r, err := http.Get(s.URL + "/v1/MedicationDispense/" + id)
	if err != nil {
		t.Fatal(err)
	}
	var res map[string]any
	json.NewDecoder(r.Body).Decode(&res)
	r.Body.Close()
	tags, _ := res["meta"].(map[string]any)["tag"].([]any)
	found := false
	for _, tag := range tags {
		m := tag.(map[string]any)
		if m["system"] == SourceSystemTag && m["code"] == "Bruno V0.1.2" {
			found = true
		}
	}
	if !found || res["id"] != id {
		t.Errorf("read %v", res)
	}
	ack, _ := post(t, s.URL+"/v1/MedicationDispense/"+id+"/$journaling-acknowledged", "")
	if ack.StatusCode != 202 || ack.Header.Get("Location") != loc {
		t.Fatalf("ack %d %q", ack.StatusCode, ack.Header.Get("Location"))
	}
	if m := status(); m["read"] == nil || m["journaled"] == nil || m["journalingAcknowledged"] == nil {
		t.Errorf("status after read and ack %v", m)
	}
	if unknown, _ := post(t, s.URL+"/v1/MedicationDispense/00000000-0000-4000-8000-000000000000/$journaling-acknowledged", ""); unknown.StatusCode != 404 {
		t.Errorf("ack of an unknown id: %d", unknown.StatusCode)
	}
	if wrongType, _ := post(t, s.URL+"/v1/Composition/"+id+"/$journaling-acknowledged", ""); wrongType.StatusCode != 404 {
		t.Errorf("ack with the wrong type: %d", wrongType.StatusCode)
	}
	ev := s.Accepted()[0]
	if ev.SourceSystem != "Bruno V0.1.2" || ev.TraceID != "4bf92f3577b34da6a3ce929d0e0e4736" || ev.Tenant != "312229544" {
		t.Errorf("observed %+v", ev)
	}
	post(t, s.URL+"/v1/MedicationDispense", validDispense)
	if st := s.Stats(); st.Duplicates != 1 || st.Accepted != 2 || st.Acknowledgements != 1 {
		t.Errorf("stats %+v", st)
	}
}

// TestReadAPIKeepsTheMostRecentBodies: past JFT_SIM_READ_BODY_BYTES the oldest bodies are
// let go; their GET answers 410, while $status and the accounting keep every event.
func TestReadAPIKeepsTheMostRecentBodies(t *testing.T) {
	s := server(t, cfg(func(c *Config) { c.ReadBodyBytes = int64(2 * len(validDispense)) }))
	var locs []string
	for range 3 {
		resp, _ := post(t, s.URL+"/v1/MedicationDispense", validDispense)
		if resp.StatusCode != 202 {
			t.Fatalf("post: %d", resp.StatusCode)
		}
		locs = append(locs, resp.Header.Get("Location"))
	}
	var status map[string]any
	get := func(u string) int {
		r, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		status = nil
		json.NewDecoder(r.Body).Decode(&status)
		return r.StatusCode
	}
	for i, want := range []int{http.StatusGone, 200, 200} {
		if got := get(strings.TrimSuffix(locs[i], "/$status")); got != want {
			t.Errorf("GET of event %d: %d, want %d", i, got, want)
		}
		if got := get(locs[i]); got != 200 || (status["read"] == nil) != (want == http.StatusGone) {
			t.Errorf("$status of event %d: %d %v (a body no longer kept cannot have been read)", i, got, status)
		}
	}
	if st := s.Stats(); st.Accepted != 3 || st.Duplicates != 2 || len(s.Accepted()) != 3 {
		t.Errorf("stats %+v, %d events", st, len(s.Accepted()))
	}
	none := server(t, cfg(func(c *Config) { c.ReadBodyBytes = 0 }))
	resp, _ := post(t, none.URL+"/v1/MedicationDispense", validDispense)
	if got := get(strings.TrimSuffix(resp.Header.Get("Location"), "/$status")); got != http.StatusGone {
		t.Errorf("GET with no bodies kept: %d", got)
	}
}

// TestOfficialExamples posts every official example of the three types: all are valid R4
// and none carries a Norwegian identifier, so the test environment must accept them.
func TestOfficialExamples(t *testing.T) {
	dir := filepath.Join("..", "..", "shared", "fixtures", "fhir-r4", "official")
	files, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil || len(files) < 30 {
		t.Fatalf("fixtures in %s: %d, %v", dir, len(files), err)
	}
	s := server(t, cfg())
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		typ := strings.SplitN(filepath.Base(f), "-", 2)[0]
		resp, body := post(t, s.URL+"/v1/"+typ, string(b))
		if resp.StatusCode != 202 {
			t.Errorf("%s: %d %s", filepath.Base(f), resp.StatusCode, body)
		}
	}
}

func TestFaultInjection(t *testing.T) {
	t.Run("error rates with Retry-After, reproducible by seed", func(t *testing.T) {
		counts := func() map[int]int {
			s := server(t, cfg(func(c *Config) { c.ErrorRates = "503=0.3,429=0.1"; c.RetryAfter = 3 }))
			out := map[int]int{}
			for range 200 {
				resp, _ := post(t, s.URL+"/v1/MedicationDispense", validDispense)
				out[resp.StatusCode]++
				if (resp.StatusCode == 503 || resp.StatusCode == 429) && resp.Header.Get("Retry-After") != "3" {
					t.Fatalf("%d without Retry-After", resp.StatusCode)
				}
			}
			return out
		}
		a, b := counts(), counts()
		if a[503] < 30 || a[503] > 90 || a[429] < 5 || a[429] > 40 || a[202]+a[503]+a[429] != 200 {
			t.Errorf("200 requests at 30%% 503 and 10%% 429 gave %v", a)
		}
		if a[503] != b[503] || a[429] != b[429] {
			t.Errorf("same seed, different faults: %v vs %v", a, b)
		}
	})
	t.Run("outage and run-time change through the admin API", func(t *testing.T) {
		s := server(t, cfg())
		req, _ := http.NewRequest(http.MethodPut, s.URL+"/_sim/faults", strings.NewReader(`{"outageUntil":"`+time.Now().Add(time.Hour).Format(time.RFC3339)+`","retryAfter":2}`))
		r, err := http.DefaultClient.Do(req)
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("PUT faults: %v %v", r, err)
		}
		r.Body.Close()
		if resp, _ := post(t, s.URL+"/v1/MedicationDispense", validDispense); resp.StatusCode != 503 {
			t.Fatalf("during the outage: %d", resp.StatusCode)
		}
		s.SetFaults(Faults{})
		if resp, _ := post(t, s.URL+"/v1/MedicationDispense", validDispense); resp.StatusCode != 202 {
			t.Fatalf("after the outage: %d", resp.StatusCode)
		}
	})
	t.Run("connection reset", func(t *testing.T) {
		s := server(t, cfg(func(c *Config) { c.ResetRate = 1 }))
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/v1/MedicationDispense", strings.NewReader(validDispense))
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			t.Fatalf("answered %d, want the connection cut", resp.StatusCode)
		}
		if s.Stats().Resets != 1 {
			t.Errorf("resets %d", s.Stats().Resets)
		}
	})
	t.Run("hang past the client's timeout", func(t *testing.T) {
		s := server(t, cfg(func(c *Config) { c.HangRate = 1 }))
		cl := &http.Client{Timeout: 100 * time.Millisecond}
		if resp, err := cl.Post(s.URL+"/v1/MedicationDispense", "application/json", strings.NewReader(validDispense)); err == nil {
			resp.Body.Close()
			t.Fatalf("answered %d within the client's timeout", resp.StatusCode)
		}
	})
	t.Run("per-tenant rate limit", func(t *testing.T) {
		s := server(t, cfg(func(c *Config) { c.TenantRPS = 5 }))
		limited := 0
		for range 20 {
			resp, _ := post(t, s.URL+"/v1/MedicationDispense", validDispense, "jft-tenant", "312229544")
			if resp.StatusCode == 429 {
				limited++
			}
		}
		other, _ := post(t, s.URL+"/v1/MedicationDispense", validDispense, "jft-tenant", "310163449")
		if limited < 10 || other.StatusCode != 202 {
			t.Errorf("limited %d of 20 at 5 rps; another tenant got %d", limited, other.StatusCode)
		}
	})
}

func TestConfigValidate(t *testing.T) {
	for name, tt := range map[string]struct {
		mut  func(*Config)
		want string
	}{
		"environment": {func(c *Config) { c.Environment = "staging" }, "JFT_SIM_ENVIRONMENT"},
		"auth":        {func(c *Config) { c.Auth = "maybe" }, "JFT_SIM_AUTH"},
		"rates":       {func(c *Config) { c.ErrorRates = "503=0.9,500=0.5" }, "JFT_SIM_ERROR_RATES"},
		"rate syntax": {func(c *Config) { c.ErrorRates = "often" }, "JFT_SIM_ERROR_RATES"},
		"reset":       {func(c *Config) { c.ResetRate = 2 }, "JFT_SIM_RESET_RATE"},
		"read bodies": {func(c *Config) { c.ReadBodyBytes = -1 }, "JFT_SIM_READ_BODY_BYTES"},
	} {
		if err := cfg(tt.mut).Validate(); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: %v", name, err)
		}
	}
}
