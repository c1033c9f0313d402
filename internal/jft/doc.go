// Package jft holds the gateway's domain types shared by every stage: the command sent to
// the WriteAPI, the result record, stable error codes and the permanent/transient
// classification of failures.
//
// It is a leaf: it imports only the standard library, so consumer, transform, writeapi,
// producer and the pipeline can all depend on it without depending on each other.
package jft
