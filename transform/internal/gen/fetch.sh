#!/usr/bin/env bash
# Gets the FHIR R4 definition bundles from Maven Central (HAPI's packaging of the official
# R4 build: ca.uhn.hapi.fhir:hapi-fhir-validation-resources-r4) with mvn, and extracts the
# StructureDefinitions of the complex data types and of the resources the gateway checks
# inside Bundles into a cache, like scripts/kafka does with Kafka: definitions fetched from
# outside are not committed; the tables generated from them (zz_elements.go) are. Prints the
# path of the extracted file.
set -euo pipefail
cd "$(dirname "$0")"
VERSION="${HAPI_VERSION:-8.4.0}"
jar="$HOME/.m2/repository/ca/uhn/hapi/fhir/hapi-fhir-validation-resources-r4/$VERSION/hapi-fhir-validation-resources-r4-$VERSION.jar"
CACHE="${JFT_R4_CACHE:-$HOME/.cache/jft-gateway/fhir-r4}"
mkdir -p "$CACHE"
out="$CACHE/r4-definitions-hapi-$VERSION.json"
if [ ! -s "$out" ]; then
  if [ ! -f "$jar" ]; then
    mvn -B -q -Dstyle.color=never dependency:get -Dartifact="ca.uhn.hapi.fhir:hapi-fhir-validation-resources-r4:$VERSION" -Dtransitive=false >&2
  fi
  go run ./extract -jar "$jar" -out "$out" >&2
fi
echo "$out"
