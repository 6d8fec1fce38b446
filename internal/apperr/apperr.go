// Package apperr is the one vocabulary of error kinds shared by every domain package.
// The HTTP layer maps a Kind to a status once (httpapi), the jobs layer maps it to a
// retry decision once (jobs); domain and storage code only create and wrap errors.
package apperr

import (
	"errors"
	"fmt"
	"strings"
)

// Kind classifies an error by what the caller can do about it.
type Kind int

// The kinds, from the caller's point of view.
const (
	Internal           Kind = iota // a bug or an unexpected failure; never shown in detail
	Invalid                        // the input is wrong; fix it and try again
	NotFound                       // the thing does not exist (or is not yours)
	Conflict                       // the request clashes with current state (duplicate, sold out)
	FailedPrecondition             // the system is not in a state that allows this
	Unauthenticated                // no valid session
	Forbidden                      // a valid session without the right role or scope
	TooManyRequests                // rate limited; try later
	Transient                      // a dependency failed; retrying may help
)

var kindNames = map[Kind]string{
	Internal: "internal", Invalid: "invalid", NotFound: "not_found", Conflict: "conflict",
	FailedPrecondition: "failed_precondition", Unauthenticated: "unauthenticated",
	Forbidden: "forbidden", TooManyRequests: "too_many_requests", Transient: "transient",
}

// String returns the stable snake_case name of the kind.
func (k Kind) String() string { return kindNames[k] }

// FieldError names one offending input field and what is wrong with it.
type FieldError struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

// Error is a classified error. Code is a stable machine-readable identifier
// ("dish_not_found"); Detail is a human sentence safe to show to the caller.
type Error struct {
	Kind   Kind
	Code   string
	Detail string
	Fields []FieldError
	Extra  map[string]any // more for the caller, such as a re-quoted price; shown as is
	Err    error          // the cause, if any; logged, never shown
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Code != "" {
		b.WriteString(": " + e.Code)
	}
	if e.Detail != "" {
		b.WriteString(": " + e.Detail)
	}
	for _, f := range e.Fields {
		fmt.Fprintf(&b, " [%s: %s]", f.Field, f.Reason)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is match two *Error values by kind and code, so package-level
// sentinels such as catalog.ErrDishNotFound work through wrapping.
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Kind == e.Kind && t.Code == e.Code
}

// New returns an error of the given kind.
func New(kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail}
}

// Wrap returns an error of the given kind caused by err.
func Wrap(err error, kind Kind, code, detail string) *Error {
	return &Error{Kind: kind, Code: code, Detail: detail, Err: err}
}

// KindOf returns the kind of the first *Error in err's chain. A database error that a
// retry can fix — a serialization failure or a deadlock, recognised by its SQLSTATE —
// is Transient; anything else is Internal.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	var st interface{ SQLState() string }
	if errors.As(err, &st) {
		switch st.SQLState() {
		case "40001", "40P01": // serialization_failure, deadlock_detected
			return Transient
		}
	}
	return Internal
}

// As returns the first *Error in err's chain.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Fields collects validation failures. The zero value is ready to use.
type Fields struct{ list []FieldError }

// Add records that field is wrong for reason.
func (f *Fields) Add(field, reason string) { f.list = append(f.list, FieldError{field, reason}) }

// Check records reason for field when ok is false.
func (f *Fields) Check(ok bool, field, reason string) {
	if !ok {
		f.Add(field, reason)
	}
}

// Err returns an Invalid error naming every recorded field, or nil when none was recorded.
func (f *Fields) Err() error {
	if len(f.list) == 0 {
		return nil
	}
	names := make([]string, len(f.list))
	for i, fe := range f.list {
		names[i] = fe.Field
	}
	return &Error{Kind: Invalid, Code: "validation_failed",
		Detail: "输入有误 / invalid input: " + strings.Join(names, ", "), Fields: f.list}
}
