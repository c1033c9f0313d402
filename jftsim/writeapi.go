package jftsim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// supportedTypes are the WriteAPI's resource types (writeapi-overview.txt).
var supportedTypes = set("Bundle", "Composition", "MedicationDispense")

// submit serves POST /v1/<Type>: 202 + Location for a valid event.
func (s *Sim) submit(w http.ResponseWriter, r *http.Request) {
	typ := r.PathValue("type")
	s.store.enter()
	defer s.store.leave()
	tenant, client, ok := s.authorize(w, r)
	if !ok {
		return
	}
	if !supportedTypes[typ] {
		// A FHIR server answers an unsupported type with 404 and an OperationOutcome.
		s.outcome(w, http.StatusNotFound, ooIssue{Severity: "error", Code: "not-supported", Diagnostics: "Resource type " + typ + " is not supported by this endpoint."})
		return
	}
	if r.ContentLength > s.cfg.MaxBodyBytes {
		s.tooLarge(w)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.tooLarge(w)
			return
		}
		s.outcome(w, http.StatusBadRequest, ooIssue{Severity: "error", Code: "structure", Diagnostics: "The request body could not be read."})
		return
	}
	if !s.inject(w, r, tenant) {
		return
	}
	if issues := s.check(typ, body); len(issues) > 0 {
		s.outcome(w, http.StatusBadRequest, issues...)
		return
	}
	id := s.store.add(Event{ResourceType: typ, Tenant: tenant, ClientID: client, Registered: s.now(),
		SourceSystem: r.Header.Get("nhn-source-system"), TraceID: traceID(r.Header.Get("traceparent"))}, body)
	w.Header().Set("Location", s.statusURL(typ, id))
	s.answer(w, http.StatusAccepted)
}

// acknowledge serves POST /v1/<Type>/{id}/$journaling-acknowledged.
func (s *Sim) acknowledge(w http.ResponseWriter, r *http.Request) {
	typ, id, op := r.PathValue("type"), r.PathValue("id"), r.PathValue("op")
	s.store.enter()
	defer s.store.leave()
	tenant, _, ok := s.authorize(w, r)
	if !ok {
		return
	}
	if op != "$journaling-acknowledged" || !supportedTypes[typ] {
		s.outcome(w, http.StatusNotFound, ooIssue{Severity: "error", Code: "not-found", Diagnostics: "Unknown operation."})
		return
	}
	if !s.inject(w, r, tenant) {
		return
	}
	// Another type's or another municipality's event is as unknown as a missing one: the
	// API does not reveal that it exists (assumption; the facts do not say).
	if !s.store.acknowledge(typ, id, tenant, s.cfg.Auth == "off", s.now().UnixNano()) {
		s.outcome(w, http.StatusNotFound, ooIssue{Severity: "error", Code: "not-found", Diagnostics: "No event with this id."})
		return
	}
	w.Header().Set("Location", s.statusURL(typ, id))
	s.answer(w, http.StatusAccepted)
}

// status serves GET /v1/<Type>/{id}/$status: plain JSON, not FHIR (jft-facts.md §1.6).
func (s *Sim) status(w http.ResponseWriter, r *http.Request) {
	if r.PathValue("op") != "$status" {
		http.NotFound(w, r)
		return
	}
	e, _, ok := s.event(w, r, 0)
	if !ok {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"registered": e.Registered.Format(time.RFC3339), "read": stamp(e.Read), "journaled": stamp(e.Journaled),
		"journalingAcknowledged": stamp(e.Journaled), "failed": nil,
	})
}

// read serves a minimal ReadAPI GET /v1/<Type>/{id}: the stored resource with its id and
// meta tags (source system, parent organisation), and marks it read.
func (s *Sim) read(w http.ResponseWriter, r *http.Request) {
	e, body, ok := s.event(w, r, s.now().UnixNano())
	if !ok {
		return
	}
	if body == nil {
		s.outcome(w, http.StatusGone, ooIssue{Severity: "error", Code: "not-found", Diagnostics: "The simulator no longer keeps this event's body: it keeps the most recent " +
			strconv.FormatInt(s.cfg.ReadBodyBytes, 10) + " bytes of accepted bodies (JFT_SIM_READ_BODY_BYTES). Its $status is still served."})
		return
	}
	var res map[string]any
	if err := json.Unmarshal(body, &res); err != nil {
		http.Error(w, "stored event unreadable", http.StatusInternalServerError)
		return
	}
	res["id"] = e.ID
	tags := []any{map[string]any{"system": "https://fhir.jft.nhn.no/parent-organization-number", "code": e.Tenant}}
	if e.SourceSystem != "" {
		tags = append(tags, map[string]any{"system": SourceSystemTag, "code": e.SourceSystem})
	}
	meta, _ := res["meta"].(map[string]any)
	if meta == nil {
		meta = map[string]any{}
	}
	meta["lastUpdated"] = e.Registered.Format(time.RFC3339Nano)
	meta["tag"] = tags
	res["meta"] = meta
	w.Header().Set("Content-Type", "application/fhir+json")
	_ = json.NewEncoder(w).Encode(res)
}

// event authorizes a read of /v1/<Type>/{id}[/…] and finds the caller's event, answering
// 401/403/404 itself when it cannot. The body is nil when the simulator no longer keeps it;
// a readAt other than 0 marks the event read (store.find).
func (s *Sim) event(w http.ResponseWriter, r *http.Request, readAt int64) (Event, []byte, bool) {
	tenant, _, ok := s.authorize(w, r)
	if !ok {
		return Event{}, nil, false
	}
	e, body, ok := s.store.find(r.PathValue("type"), r.PathValue("id"), tenant, s.cfg.Auth == "off", readAt)
	if !ok {
		s.outcome(w, http.StatusNotFound, ooIssue{Severity: "error", Code: "not-found", Diagnostics: "No event with this id."})
	}
	return e, body, ok
}

func (s *Sim) statusURL(typ, id string) string {
	base := s.cfg.ReadBaseURL
	if base == "" {
		base = s.baseURL
	}
	return strings.TrimSuffix(base, "/") + "/v1/" + typ + "/" + id + "/$status"
}

// authorize verifies HelseID + DPoP when auth is on, and returns the tenant (orgnr_parent)
// and client. With auth off, the tenant comes from a jft-tenant header (a simulator-only
// convenience for benchmarks).
func (s *Sim) authorize(w http.ResponseWriter, r *http.Request) (tenant, client string, ok bool) {
	if s.issuer == nil {
		return r.Header.Get("jft-tenant"), "", true
	}
	p, aerr := s.issuer.VerifyRequest(r, Scope)
	if aerr != nil {
		w.Header().Set("WWW-Authenticate", `DPoP error="invalid_token", error_description="`+strings.ReplaceAll(aerr.Reason, `"`, "'")+`"`)
		s.outcome(w, aerr.Status, ooIssue{Severity: "error", Code: "security", Diagnostics: aerr.Reason})
		return "", "", false
	}
	if !orgnrValid(p.OrgnrParent) {
		s.outcome(w, http.StatusForbidden, ooIssue{Severity: "error", Code: "security", Diagnostics: "The orgnr_parent claim is not a valid organization number."})
		return "", "", false
	}
	synthetic := s.orgnrSynthetic(p.OrgnrParent)
	if (s.cfg.Environment == "test" && !synthetic) || (s.cfg.Environment == "prod" && synthetic) {
		s.outcome(w, http.StatusBadRequest, ooIssue{Severity: "error", Code: "business-rule", Diagnostics: "The orgnr_parent claim does not suit the " + s.cfg.Environment + " environment."})
		return "", "", false
	}
	return p.OrgnrParent, p.ClientID, true
}

// inject applies the fault drawn for this request; false means the request was answered
// (or cut) by a fault.
func (s *Sim) inject(w http.ResponseWriter, r *http.Request, tenant string) bool {
	f := s.faults.draw(tenant, s.now())
	if f.delay > 0 {
		t := time.NewTimer(f.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return false
		}
	}
	switch {
	case f.reset:
		s.store.count(func(st *Stats) { st.Resets++ })
		panic(http.ErrAbortHandler) // net/http closes the connection without an answer
	case f.hang:
		s.store.count(func(st *Stats) { st.Hangs++ })
		t := time.NewTimer(time.Duration(s.faults.get().HangMax))
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
		}
		s.answer(w, http.StatusGatewayTimeout)
		return false
	case f.status != 0:
		if (f.status == 429 || f.status == 503) && s.faults.get().RetryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(s.faults.get().RetryAfter))
		}
		s.outcome(w, f.status, ooIssue{Severity: "error", Code: "transient", Diagnostics: "Injected fault."})
		return false
	}
	return true
}

func (s *Sim) tooLarge(w http.ResponseWriter) {
	s.outcome(w, http.StatusRequestEntityTooLarge, ooIssue{Severity: "error", Code: "too-costly", Diagnostics: "The request body exceeds the size limit of " + strconv.FormatInt(s.cfg.MaxBodyBytes, 10) + " bytes."})
}

func (s *Sim) answer(w http.ResponseWriter, status int) {
	s.store.count(func(st *Stats) { st.ByStatus[status]++ })
	w.WriteHeader(status)
}

// outcome answers with a FHIR OperationOutcome.
func (s *Sim) outcome(w http.ResponseWriter, status int, issues ...ooIssue) {
	s.store.count(func(st *Stats) { st.ByStatus[status]++ })
	w.Header().Set("Content-Type", "application/fhir+json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"resourceType": "OperationOutcome", "issue": issues})
}

func stamp(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.Format(time.RFC3339)
}

// traceID reads the trace id of a W3C traceparent header: 32 lower-case hex digits, not
// all zero (W3C Trace Context, trace-id); anything else is no trace id.
func traceID(tp string) string {
	parts := strings.Split(tp, "-")
	if len(parts) != 4 || len(parts[1]) != 32 || strings.Trim(parts[1], "0") == "" {
		return ""
	}
	for _, c := range []byte(parts[1]) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return ""
		}
	}
	return parts[1]
}
