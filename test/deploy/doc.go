// Package deploy checks the deployment files (docker-compose.yml, the
// Dockerfiles and the systemd unit): no Docker engine runs in CI, so the
// compose file is validated by docker-compose itself, not run.
package deploy
