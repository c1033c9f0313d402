package jft

// Severity of an Issue, as in FHIR OperationOutcome.issue.severity.
type Severity string

const (
	SeverityFatal       Severity = "fatal"
	SeverityError       Severity = "error"
	SeverityWarning     Severity = "warning"
	SeverityInformation Severity = "information"
)

// Issue is one finding, shaped like a FHIR OperationOutcome issue. Path is a FHIRPath-like
// location (e.g. "Bundle.entry[2].resource.identifier[0].value"); Message names the rule
// and the element but never the element's value.
type Issue struct {
	Severity Severity `json:"severity"`
	Code     Code     `json:"code"`
	Path     string   `json:"path,omitempty"`
	Message  string   `json:"message"`
}

// MaxIssues bounds how many issues one result carries.
const MaxIssues = 50
