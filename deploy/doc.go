// Package deploy holds the deployment files: deploy/k8s (kustomize: base, components for
// KEDA or the HPA, test and prod overlays, alerts and the Grafana dashboard) and
// deploy/compose (the docker-compose.yml configs). Its test builds every overlay and checks
// the manifests against the gateway's real configuration and metrics.
package deploy
