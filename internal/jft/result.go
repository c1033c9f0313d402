package jft

import "time"

// SchemaV1 is the value of Result.Schema for this version of the contract.
const SchemaV1 = "jft-gateway.result.v1"

// Outcome of one input record.
type Outcome string

const (
	// OutcomeAccepted: the WriteAPI answered 202.
	OutcomeAccepted Outcome = "accepted"
	// OutcomeRejected: permanent failure: our validation or a 4xx from the WriteAPI.
	OutcomeRejected Outcome = "rejected"
	// OutcomeFailed: transient failures until retries (attempts or time budget) ran out.
	OutcomeFailed Outcome = "failed"
)

// Source names the input record a result belongs to.
type Source struct {
	Topic     string `json:"topic"`
	Partition int32  `json:"partition"`
	Offset    int64  `json:"offset"`
}

// ResultError is the error part of a result: a stable code, our message, and issues.
type ResultError struct {
	Code    Code    `json:"code"`
	Message string  `json:"message"`
	Issues  []Issue `json:"issues,omitempty"`
}

// Result is the value of a result record (docs/schema/result.v1.json).
type Result struct {
	Schema       string       `json:"schema"`
	EventID      string       `json:"eventId"`
	Kind         Kind         `json:"kind"`
	Tenant       string       `json:"tenant,omitempty"`
	ResourceType string       `json:"resourceType,omitempty"`
	ResourceID   string       `json:"resourceId,omitempty"`
	Source       Source       `json:"source"`
	Outcome      Outcome      `json:"outcome"`
	HTTPStatus   int          `json:"httpStatus,omitempty"`
	Location     string       `json:"location,omitempty"`
	Error        *ResultError `json:"error,omitempty"`
	Warnings     []Issue      `json:"warnings,omitempty"`
	Attempts     int          `json:"attempts"`
	ReceivedAt   time.Time    `json:"receivedAt"`
	CompletedAt  time.Time    `json:"completedAt"`
	TraceID      string       `json:"traceId,omitempty"`
}
