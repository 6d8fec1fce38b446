package apperr

import (
	"errors"
	"fmt"
	"testing"
)

func TestKindOfThroughWrapping(t *testing.T) {
	sentinel := New(NotFound, "dish_not_found", "no such dish")
	err := fmt.Errorf("catalogdb: get dish 7: %w", sentinel)
	if got := KindOf(err); got != NotFound {
		t.Fatalf("KindOf = %v, want not_found", got)
	}
	if !errors.Is(err, New(NotFound, "dish_not_found", "")) {
		t.Fatal("errors.Is should match by kind and code")
	}
	if errors.Is(err, New(NotFound, "canteen_not_found", "")) {
		t.Fatal("errors.Is matched a different code")
	}
	if got := KindOf(errors.New("boom")); got != Internal {
		t.Fatalf("plain error kind = %v, want internal", got)
	}
}

func TestFields(t *testing.T) {
	var f Fields
	if f.Err() != nil {
		t.Fatal("empty Fields must give nil")
	}
	f.Check(true, "a", "fine")
	f.Check(false, "price_fen", "must be greater than 0")
	err := f.Err()
	e, ok := As(err)
	if !ok || e.Kind != Invalid || len(e.Fields) != 1 || e.Fields[0].Field != "price_fen" {
		t.Fatalf("got %#v", err)
	}
}

type sqlErr string

func (e sqlErr) Error() string    { return "sql error " + string(e) }
func (e sqlErr) SQLState() string { return string(e) }

func TestDatabaseRetryableErrorsAreTransient(t *testing.T) {
	for code, want := range map[string]Kind{"40001": Transient, "40P01": Transient, "23505": Internal} {
		if got := KindOf(fmt.Errorf("store: %w", sqlErr(code))); got != want {
			t.Errorf("SQLSTATE %s: kind %v, want %v", code, got, want)
		}
	}
}
