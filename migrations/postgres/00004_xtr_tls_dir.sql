-- Each xTR names the directory on its switch host that holds its TLS key,
-- certificate and CA (key.pem, cert.pem, ca.pem); the controller writes
-- those paths into the switch's SSL table for ssl: controller targets.
-- An empty value means the default, /etc/openvswitch/l2lisp.
-- +goose Up
ALTER TABLE xtrs ADD COLUMN tls_dir TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE xtrs DROP COLUMN tls_dir;
