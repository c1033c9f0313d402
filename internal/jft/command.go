package jft

// Kind says which input topic a record came from and so which WriteAPI endpoint it goes to.
type Kind string

const (
	// KindEvent is a FHIR resource posted to POST /v1/<ResourceType>.
	KindEvent Kind = "event"
	// KindAcknowledgement is a journaling acknowledgement posted to
	// POST /v1/<ResourceType>/{id}/$journaling-acknowledged.
	KindAcknowledgement Kind = "acknowledgement"
)

// Header names of the message contract (docs/contract.md).
const (
	HeaderTenant       = "jft-tenant"
	HeaderSourceSystem = "nhn-source-system"
	HeaderEventID      = "jft-event-id"
	HeaderOutcome      = "jft-outcome"
	HeaderErrorCode    = "jft-error-code"
	HeaderTraceparent  = "traceparent"
	HeaderTracestate   = "tracestate"
	HeaderContentType  = "content-type"
)

// Command is what transform makes of one input record: everything the WriteAPI client needs
// to send it, and nothing it must not send.
type Command struct {
	// Kind selects the endpoint.
	Kind Kind
	// Tenant is the municipality's organisation number (orgnr_parent): whose token is used.
	Tenant string
	// ResourceType is Bundle, Composition or MedicationDispense.
	ResourceType string
	// ResourceID is the event's id for an acknowledgement; empty for a new event.
	ResourceID string
	// Body is the original bytes of the event, forwarded unchanged. Nil for an
	// acknowledgement, which has no body.
	Body []byte
	// SourceSystem is the nhn-source-system header value, if any.
	SourceSystem string
	// EventID is the caller's correlation id (jft-event-id header) or one derived from the
	// record's coordinates.
	EventID string
	// Warnings are findings of rules configured to warn rather than reject; they travel
	// into the accepted result.
	Warnings []Issue
}

// Path returns the WriteAPI path for the command, relative to the base URL.
func (c Command) Path() string {
	if c.Kind == KindAcknowledgement {
		return "/v1/" + c.ResourceType + "/" + c.ResourceID + "/$journaling-acknowledged"
	}
	return "/v1/" + c.ResourceType
}
