package httpapi

import (
	"encoding/json"
	"errors"
	"net/http"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Problem is an RFC 9457 problem body.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Code      string              `json:"code"`
	Fields    []apperr.FieldError `json:"fields,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	Extra     map[string]any      `json:"-"` // merged into the body, e.g. "quote"
}

// MarshalJSON writes the problem members and the extension members side by side.
func (p Problem) MarshalJSON() ([]byte, error) {
	type plain Problem
	b, err := json.Marshal(plain(p))
	if err != nil || len(p.Extra) == 0 {
		return b, err
	}
	m := map[string]any{}
	for k, v := range p.Extra {
		m[k] = v
	}
	var base map[string]json.RawMessage
	if err := json.Unmarshal(b, &base); err != nil {
		return nil, err
	}
	for k, v := range base {
		m[k] = v
	}
	return json.Marshal(m)
}

// statusOf is the one mapping from error kind to HTTP status.
var statusOf = map[apperr.Kind]int{
	apperr.Invalid:            http.StatusBadRequest,
	apperr.NotFound:           http.StatusNotFound,
	apperr.Conflict:           http.StatusConflict,
	apperr.FailedPrecondition: http.StatusUnprocessableEntity,
	apperr.Unauthenticated:    http.StatusUnauthorized,
	apperr.Forbidden:          http.StatusForbidden,
	apperr.TooManyRequests:    http.StatusTooManyRequests,
	apperr.Transient:          http.StatusServiceUnavailable,
	apperr.Internal:           http.StatusInternalServerError,
}

// fiberErrors turns Fiber's own errors (unknown route, oversize body…) into problems.
var fiberErrors = map[int]*apperr.Error{
	http.StatusNotFound:              apperr.New(apperr.NotFound, "route_not_found", "no such route"),
	http.StatusMethodNotAllowed:      apperr.New(apperr.Invalid, "method_not_allowed", "method not allowed on this route"),
	http.StatusRequestEntityTooLarge: apperr.New(apperr.Invalid, "body_too_large", "请求内容过大 / request body is too large"),
	http.StatusRequestTimeout:        apperr.New(apperr.Transient, "request_timeout", "the request took too long"),
}

func (s *server) errorHandler(c *fiber.Ctx, err error) error {
	var fe *fiber.Error
	if errors.As(err, &fe) {
		if mapped, ok := fiberErrors[fe.Code]; ok {
			status := fe.Code
			return s.writeProblem(c, status, mapped)
		}
		if fe.Code < 500 {
			return s.writeProblem(c, fe.Code, apperr.New(apperr.Invalid, "bad_request", fe.Message))
		}
	}
	ae, ok := apperr.As(err)
	if !ok && apperr.KindOf(err) == apperr.Transient { // a deadlock or serialization failure
		s.Log.WarnContext(c.UserContext(), "request failed, retryable", "err", err.Error(), "request_id", requestID(c))
		return s.writeProblem(c, http.StatusServiceUnavailable, apperr.New(apperr.Transient, "try_again", "系统繁忙，请重试 / busy, please try again"))
	}
	if !ok || ae.Kind == apperr.Internal {
		s.Log.ErrorContext(c.UserContext(), "request failed", "err", err.Error(),
			"method", c.Method(), "path", c.Path(), "request_id", requestID(c))
		return s.writeProblem(c, http.StatusInternalServerError, apperr.New(apperr.Internal, "internal", "internal error"))
	}
	if ae.Kind == apperr.Transient {
		s.Log.WarnContext(c.UserContext(), "request failed", "err", err.Error(), "request_id", requestID(c))
	}
	status := statusOf[ae.Kind]
	if ae.Kind == apperr.TooManyRequests {
		c.Set("Retry-After", "60")
	}
	return s.writeProblem(c, status, ae)
}

func (s *server) writeProblem(c *fiber.Ctx, status int, e *apperr.Error) error {
	code := e.Code
	if code == "" {
		code = e.Kind.String()
	}
	p := Problem{Type: "/docs/problems#" + code, Title: http.StatusText(status), Status: status,
		Detail: e.Detail, Code: code, Fields: e.Fields, RequestID: requestID(c), Extra: e.Extra}
	if p.Detail == "" {
		p.Detail = p.Title
	}
	if status == http.StatusUnauthorized {
		c.Set("WWW-Authenticate", `Bearer realm="canteen"`)
	}
	c.Status(status)
	return c.JSON(p, "application/problem+json")
}

func requestID(c *fiber.Ctx) string {
	if v, ok := c.Locals("requestid").(string); ok {
		return v
	}
	return ""
}
