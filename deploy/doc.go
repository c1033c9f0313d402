// Package deploy holds the Kubernetes manifests; its test builds them.
package deploy
