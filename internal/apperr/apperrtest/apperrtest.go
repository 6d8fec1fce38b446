// Package apperrtest has the test assertions on apperr errors that many packages share.
package apperrtest

import (
	"errors"
	"strings"
	"testing"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Want fails t unless err is an apperr of kind that names field (when field is not "").
func Want(t testing.TB, err error, kind apperr.Kind, field string) {
	t.Helper()
	e, ok := apperr.As(err)
	if !ok {
		t.Fatalf("err = %v, want %s", err, kind)
	}
	if e.Kind != kind {
		t.Fatalf("kind = %s, want %s (err: %v)", e.Kind, kind, err)
	}
	if field == "" {
		return
	}
	var names []string
	for _, fe := range e.Fields {
		if fe.Field == field {
			return
		}
		names = append(names, fe.Field)
	}
	t.Fatalf("fields = [%s], want %q (err: %v)", strings.Join(names, ", "), field, err)
}

// WantIs fails t unless errors.Is(err, target).
func WantIs(t testing.TB, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}
