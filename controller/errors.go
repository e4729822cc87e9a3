package controller

import (
	"errors"
	"fmt"
)

// Kind classifies a controller error so the REST API can pick a status code.
type Kind string

// Error kinds.
const (
	KindInvalid   Kind = "invalid"   // bad input: HTTP 400
	KindNotFound  Kind = "not_found" // HTTP 404
	KindConflict  Kind = "conflict"  // already exists, or still in use: HTTP 409
	KindForbidden Kind = "forbidden" // outside what a site may do: HTTP 403
)

// Error is a controller error that names the offending input field.
type Error struct {
	Kind    Kind
	Field   string
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return fmt.Sprintf("%s: %s", e.Field, e.Message)
	}
	return e.Message
}

func invalid(field, format string, a ...any) error {
	return &Error{Kind: KindInvalid, Field: field, Message: fmt.Sprintf(format, a...)}
}

func notFound(field, format string, a ...any) error {
	return &Error{Kind: KindNotFound, Field: field, Message: fmt.Sprintf(format, a...)}
}

func conflict(field, format string, a ...any) error {
	return &Error{Kind: KindConflict, Field: field, Message: fmt.Sprintf(format, a...)}
}

func forbidden(field, format string, a ...any) error {
	return &Error{Kind: KindForbidden, Field: field, Message: fmt.Sprintf(format, a...)}
}

// AsError finds a controller *Error in err's chain.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}
