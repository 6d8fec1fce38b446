package httpapi

import (
	"net/http"

	"github.com/gofiber/fiber/v2"
)

// Most handlers have one shape: read the route's input in a fixed order (the path
// parameters, then the JSON body), call one service method, and answer with its result as
// JSON or hand its error, as it is, to errorHandler. The helpers here are that shape once:
// a handler names how its path parameters are read and what to call.

// list is the body of every list answer.
type list[T any] struct {
	Items []T `json:"items"`
}

// listOf wraps items for a list answer: [] rather than null when there are none.
func listOf[T any](items []T) list[T] {
	if items == nil {
		items = []T{}
	}
	return list[T]{Items: items}
}

// listed is listOf for both results of a service call: listed(svc.List(ctx, …)).
func listed[T any](items []T, err error) (list[T], error) {
	return listOf(items), err
}

// idParam reads the :id path parameter.
func idParam(c *fiber.Ctx) (int64, error) { return pathID(c, "id") }

// reply answers out as JSON with status, or hands err on to errorHandler.
func reply(c *fiber.Ctx, status int, out any, err error) error {
	if err != nil {
		return err
	}
	return c.Status(status).JSON(out)
}

// withPath answers a route from its path parameters: read reads them (idParam,
// canteenParam…), failing on the first that is invalid or out of the caller's scope, and
// fn makes the 200 answer from them.
func withPath[P, Out any](c *fiber.Ctx, read func(*fiber.Ctx) (P, error), fn func(P) (Out, error)) error {
	p, err := read(c)
	if err != nil {
		return err
	}
	out, err := fn(p)
	return reply(c, http.StatusOK, out, err)
}

// withBody answers a route from its JSON body, bound strictly by bind: fn makes the answer,
// sent with status (200, or 201 for what it creates).
func withBody[In, Out any](c *fiber.Ctx, status int, fn func(In) (Out, error)) error {
	var in In
	if err := bind(c, &in); err != nil {
		return err
	}
	out, err := fn(in)
	return reply(c, status, out, err)
}

// withPathBody answers a route from its path parameters and its JSON body, as withPath and
// withBody do, reading the path first: a bad id fails before the body is looked at.
func withPathBody[P, In, Out any](c *fiber.Ctx, read func(*fiber.Ctx) (P, error), status int, fn func(P, In) (Out, error)) error {
	p, err := read(c)
	if err != nil {
		return err
	}
	return withBody(c, status, func(in In) (Out, error) { return fn(p, in) })
}

// withPathOptionalBody is withPathBody for a body that may be left out (bindOptional): fn
// then gets the zero In.
func withPathOptionalBody[P, In, Out any](c *fiber.Ctx, read func(*fiber.Ctx) (P, error), status int, fn func(P, In) (Out, error)) error {
	p, err := read(c)
	if err != nil {
		return err
	}
	var in In
	if err := bindOptional(c, &in); err != nil {
		return err
	}
	out, err := fn(p, in)
	return reply(c, status, out, err)
}
