package jft

import "context"

type callDoneKey struct{}

// WithCallDone returns ctx carrying fn, which the consumer gives each record's handler.
// fn is called at most once, by CallDone.
func WithCallDone(ctx context.Context, fn func()) context.Context {
	return context.WithValue(ctx, callDoneKey{}, fn)
}

// CallDone tells whoever handed the record over that its WriteAPI call (or the decision not
// to make one) is over, and only its result is left to write. Under key ordering the
// consumer then starts the key's next record, so that the wait for the result to become
// durable (the producer's linger and the broker's acknowledgement) is not added to every
// record of a key. The handler must not call the WriteAPI again for the record afterwards.
// Without a function in ctx, it does nothing.
func CallDone(ctx context.Context) {
	if fn, ok := ctx.Value(callDoneKey{}).(func()); ok {
		fn()
	}
}
