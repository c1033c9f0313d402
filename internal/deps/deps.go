// Package deps pins the project's module dependencies while packages are being written.
// It is removed once every dependency is imported by real code.
package deps

import (
	_ "github.com/go-jose/go-jose/v4"
	_ "github.com/samply/golang-fhir-models/fhir-models/fhir"
	_ "github.com/santhosh-tekuri/jsonschema/v6"
	_ "github.com/sethvargo/go-envconfig"
	_ "github.com/twmb/franz-go/pkg/kadm"
	_ "github.com/twmb/franz-go/pkg/kfake"
	_ "github.com/twmb/franz-go/pkg/kgo"
	_ "github.com/twmb/franz-go/plugin/kotel"
	_ "github.com/twmb/franz-go/plugin/kprom"
	_ "go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	_ "go.opentelemetry.io/otel"
	_ "go.opentelemetry.io/otel/sdk/trace"
	_ "go.uber.org/goleak"
	_ "golang.org/x/oauth2"
	_ "golang.org/x/sync/singleflight"
	_ "gopkg.in/yaml.v3"
)
