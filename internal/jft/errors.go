package jft

import (
	"errors"
	"fmt"
)

// Code is a stable, documented error code carried in result records (error.code) and in the
// jft-error-code header. Codes are data: never change the meaning of an existing one.
type Code string

// Error codes. The list, with the meaning of each, is in docs/contract.md; a test keeps the
// two in step.
const (
	// Input and contract.
	CodeInvalidJSON          Code = "INVALID_JSON"
	CodeSizeLimit            Code = "SIZE_LIMIT"
	CodeUnsupportedResource  Code = "UNSUPPORTED_RESOURCE_TYPE"
	CodeResourceTypeMismatch Code = "RESOURCE_TYPE_MISMATCH"
	CodeTenantMissing        Code = "TENANT_MISSING"
	CodeTenantInvalid        Code = "TENANT_INVALID"
	CodeTenantUnknown        Code = "TENANT_UNKNOWN"
	CodeAckInvalid           Code = "ACK_INVALID"
	CodeHeaderInvalid        Code = "HEADER_INVALID"

	// FHIR structure (transform's validator).
	CodeFHIRStructure   Code = "FHIR_STRUCTURE"
	CodeFHIRUnknown     Code = "FHIR_UNKNOWN_ELEMENT"
	CodeFHIRCardinality Code = "FHIR_CARDINALITY"
	CodeFHIREmpty       Code = "FHIR_EMPTY_VALUE"
	CodeFHIRFormat      Code = "FHIR_PRIMITIVE_FORMAT"
	CodeFHIRRequired    Code = "FHIR_REQUIRED_ELEMENT"
	CodeFHIRCode        Code = "FHIR_CODE_NOT_IN_VALUESET"
	CodeFHIRChoice      Code = "FHIR_CHOICE_TYPE"
	CodeFHIRReference   Code = "FHIR_REFERENCE_UNRESOLVED"
	CodeFHIRModifierExt Code = "FHIR_UNKNOWN_MODIFIER_EXTENSION"
	CodeFHIRInvariant   Code = "FHIR_INVARIANT"

	// Norwegian identifiers and environment policy.
	CodeNINChecksum        Code = "NIN_CHECKSUM"
	CodeNINInvalidDate     Code = "NIN_INVALID_DATE"
	CodeNINFormat          Code = "NIN_FORMAT"
	CodeNINRealInTest      Code = "NIN_REAL_IN_TEST"
	CodeNINSyntheticInProd Code = "NIN_SYNTHETIC_IN_PROD"
	CodeOrgnrChecksum      Code = "ORGNR_CHECKSUM"
	CodeOrgnrFormat        Code = "ORGNR_FORMAT"
	CodeOrgnrRealInTest    Code = "ORGNR_REAL_IN_TEST"
	CodeOrgnrSynthInProd   Code = "ORGNR_SYNTHETIC_IN_PROD"

	// WriteAPI answers.
	CodeAPIBadRequest   Code = "WRITEAPI_BAD_REQUEST"
	CodeAPIUnauthorized Code = "WRITEAPI_UNAUTHORIZED"
	CodeAPIForbidden    Code = "WRITEAPI_FORBIDDEN"
	CodeAPINotFound     Code = "WRITEAPI_NOT_FOUND"
	CodeAPITooLarge     Code = "WRITEAPI_PAYLOAD_TOO_LARGE"
	CodeAPIRejected     Code = "WRITEAPI_REJECTED"
	CodeAPIUnavailable  Code = "WRITEAPI_UNAVAILABLE"
	CodeAPIRateLimited  Code = "WRITEAPI_RATE_LIMITED"
	CodeAPITimeout      Code = "WRITEAPI_TIMEOUT"
	CodeAPINetwork      Code = "WRITEAPI_NETWORK"
	CodeAPIBadResponse  Code = "WRITEAPI_BAD_RESPONSE"

	// Authentication toward HelseID.
	CodeAuthFailed Code = "AUTH_FAILED"

	// Anything else.
	CodeInternal Code = "INTERNAL"
)

// Error is a failure with a stable code and a message of our own (never a payload, an
// identity number, a token or a dependency's response body). Permanent errors must not be
// retried: the same input will fail the same way.
type Error struct {
	Code      Code
	Message   string
	Issues    []Issue
	Permanent bool
	// RetryAfter is a server's hint for a transient error, zero when none was given.
	RetryAfterSeconds int
	// Err is the wrapped cause, for logs and errors.Is; it is never put into a result.
	Err error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return string(e.Code) + ": " + e.Message
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// Permanentf returns a permanent *Error with a formatted message.
func Permanentf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...), Permanent: true}
}

// Transientf returns a transient *Error with a formatted message.
func Transientf(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// CodeOf returns the code of the first *Error in err's chain, INTERNAL for any other error,
// and "" for nil.
func CodeOf(err error) Code {
	if err == nil {
		return ""
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// IsPermanent reports whether err is known to fail the same way on every retry.
func IsPermanent(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Permanent
}

// AsError returns err as an *Error, wrapping a foreign error as INTERNAL (transient).
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "internal error", Err: err}
}
