-- Each network (instance-id) has its own data-plane encapsulation: LISP-GPE
-- (RFC 9305, UDP 4341, the default) or VXLAN (RFC 7348, UDP 4789). Existing
-- networks take the default.
-- +goose Up
ALTER TABLE networks ADD COLUMN encapsulation TEXT NOT NULL DEFAULT 'lisp-gpe'
    CHECK (encapsulation IN ('lisp-gpe', 'vxlan'));

-- +goose Down
ALTER TABLE networks DROP COLUMN encapsulation;
