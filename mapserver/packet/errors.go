package packet

import (
	"errors"
	"fmt"
)

// Sentinel errors. Decoders and encoders wrap them, so test with errors.Is.
var (
	// ErrTruncated means the input ended before a field or counted item.
	ErrTruncated = errors.New("lisp: truncated message")
	// ErrUnknownType means the LISP message type is not one this package handles.
	ErrUnknownType = errors.New("lisp: unknown message type")
	// ErrUnsupportedAFI means an address family whose length cannot be known.
	ErrUnsupportedAFI = errors.New("lisp: unsupported address family")
	// ErrInvalidValue means a field holds a value that is out of range or
	// inconsistent with another field.
	ErrInvalidValue = errors.New("lisp: invalid value")
	// ErrChecksum means an ECM inner IPv4 or UDP checksum did not verify.
	ErrChecksum = errors.New("lisp: bad checksum")
	// ErrAuthFailed means authentication data did not verify.
	ErrAuthFailed = errors.New("lisp: authentication failed")
	// ErrUnsupportedAlg means an authentication algorithm ID this package
	// does not implement.
	ErrUnsupportedAlg = errors.New("lisp: unsupported authentication algorithm")
)

// FieldError reports which field of a message was wrong and why.
type FieldError struct {
	Field string // human-readable field name, e.g. "itr-rloc count"
	Err   error  // one of the sentinel errors above
}

func (e *FieldError) Error() string { return "lisp: " + e.Field + ": " + e.Err.Error() }

// Unwrap lets errors.Is see the sentinel.
func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, err error) error { return &FieldError{Field: field, Err: err} }

// wrapIndex adds the position of a counted item to err; %w keeps the
// sentinel visible to errors.Is.
func wrapIndex(what string, i int, err error) error {
	return fmt.Errorf("%s %d: %w", what, i, err)
}

// wrapField names the part of a message an error came from.
func wrapField(what string, err error) error {
	return fmt.Errorf("%s: %w", what, err)
}
