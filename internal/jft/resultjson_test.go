package jft

import (
	"bytes"
	"encoding/json"
	"testing"
	"time"
)

// FuzzResultJSONMatchesEncodingJSON holds AppendJSON to encoding/json's Marshal of the same
// result: the same bytes, or an error for the same results.
func FuzzResultJSONMatchesEncodingJSON(f *testing.F) {
	f.Add("evt-1", "0192837465", "Bundle", "b1", "jft.events.v1", int32(3), int64(42), "accepted", 202,
		"https://api.write.jft.test.nhn.no/v1/Bundle/b1/$status", "", "", "", "", 1, int64(1764000000123456789), int64(0), "4bf92f3577b34da6a3ce929d0e0e4736", 0)
	f.Add("e\"<>&\u2028\u2029\x00\x1f\t\n\r\b\f\\", "t", "", "", "", int32(-1), int64(-7), "rejected", 0,
		"", "FHIR_REQUIRED", "bad \xff\xfe input", "Bundle.entry[0]", "required element is missing", 0, int64(-62135596800), int64(3600), "", 2)
	f.Add("y", "", "", "", "t", int32(0), int64(0), "failed", 503, "", "WRITEAPI_UNAVAILABLE", "", "", "", 5,
		int64(253402300800), int64(-90000), "", 1)
	f.Fuzz(func(t *testing.T, event, tenant, rtype, rid, topic string, partition int32, offset int64, outcome string,
		status int, location, code, message, path, issueMsg string, attempts int, unixNano, zone int64, trace string, issues int) {
		at := time.Unix(0, unixNano).In(time.FixedZone("z", int(zone%200000)))
		r := Result{
			Schema: SchemaV1, EventID: event, Kind: Kind(rtype), Tenant: tenant, ResourceType: rtype, ResourceID: rid,
			Source: Source{Topic: topic, Partition: partition, Offset: offset}, Outcome: Outcome(outcome),
			HTTPStatus: status, Location: location, Attempts: attempts,
			ReceivedAt: at, CompletedAt: at.Add(time.Duration(offset)), TraceID: trace,
		}
		var list []Issue
		for i := range issues % 4 {
			list = append(list, Issue{Severity: Severity(tenant), Code: Code(code), Path: path[:len(path)*i/3], Message: issueMsg})
		}
		if code != "" || message != "" {
			r.Error = &ResultError{Code: Code(code), Message: message, Issues: list}
		} else {
			r.Warnings = list
		}
		want, wantErr := json.Marshal(&r)
		got, err := r.AppendJSON([]byte("prefix"))
		if (err == nil) != (wantErr == nil) {
			t.Fatalf("AppendJSON error %v, encoding/json error %v", err, wantErr)
		}
		if err != nil {
			return
		}
		if !bytes.Equal(got[len("prefix"):], want) {
			t.Fatalf("AppendJSON:\n%s\nencoding/json:\n%s", got[len("prefix"):], want)
		}
	})
}
