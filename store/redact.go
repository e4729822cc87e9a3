package store

import (
	"fmt"
	"regexp"
	"strings"
)

// masked stands for a hidden password.
const masked = "xxxxx"

// passwordParam is a password given as a URL query or key=value setting.
var passwordParam = regexp.MustCompile(`(?i)(\bpassword=)([^&\s]*)`)

// Redact hides the password of a database setting, so it can be logged:
// postgres://l2lisp:secret@db/l2lisp becomes postgres://l2lisp:xxxxx@db/l2lisp,
// and password=... parameters are hidden too. A SQLite path is unchanged.
func Redact(dsn string) string {
	if pw := password(dsn); pw != "" {
		i := strings.Index(dsn, "://") + 3
		user, _, _ := strings.Cut(dsn[i:], ":")
		dsn = dsn[:i] + user + ":" + masked + dsn[i+len(user)+1+len(pw):]
	}
	return passwordParam.ReplaceAllString(dsn, "${1}"+masked)
}

// password is the password in a URL's user info, or "".
func password(dsn string) string {
	i := strings.Index(dsn, "://")
	if i < 0 {
		return ""
	}
	// The last '@' ends the user info: a password may hold '/' or '?', and
	// an '@' further on (in the query) only hides more than needed.
	auth := dsn[i+3:]
	at := strings.LastIndex(auth, "@")
	if at < 0 {
		return ""
	}
	_, pw, ok := strings.Cut(auth[:at], ":")
	if !ok {
		return ""
	}
	return pw
}

// secrets are every password a setting holds.
func secrets(dsn string) []string {
	var out []string
	if pw := password(dsn); pw != "" {
		out = append(out, pw)
	}
	for _, m := range passwordParam.FindAllStringSubmatch(dsn, -1) {
		if m[2] != "" {
			out = append(out, m[2])
		}
	}
	return out
}

// redactedError hides the passwords of a database setting in an error
// from the driver, which may quote what it was given; errors.Is and As
// still see the driver's error.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// dbError is fmt.Errorf(format+": %w", Redact(dsn), err) with the
// passwords of dsn hidden in err's text too.
func dbError(format, dsn string, err error) error {
	text := err.Error()
	for _, s := range secrets(dsn) {
		text = strings.ReplaceAll(text, s, masked)
	}
	return &redactedError{msg: fmt.Sprintf(format, Redact(dsn)) + ": " + text, err: err}
}
