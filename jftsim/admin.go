package jftsim

import (
	"encoding/json"
	"net/http"
)

// adminEvents serves GET /_sim/events: the accepted events (no bodies).
func (s *Sim) adminEvents(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.Accepted())
}

// adminStats serves GET /_sim/stats.
func (s *Sim) adminStats(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.Stats())
}

func (s *Sim) adminGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, s.Faults())
}

// adminPutFaults serves PUT /_sim/faults with a Faults JSON body.
func (s *Sim) adminPutFaults(w http.ResponseWriter, r *http.Request) {
	var f Faults
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<16))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
		return
	}
	if err := s.SetFaults(f); err != nil {
		http.Error(w, "faults: "+err.Error(), http.StatusBadRequest)
		return
	}
	writeJSON(w, s.Faults())
}

func (s *Sim) adminReset(w http.ResponseWriter, _ *http.Request) {
	s.Reset()
	w.WriteHeader(http.StatusNoContent)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}
