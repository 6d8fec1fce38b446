package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"strconv"
	"strings"

	"github.com/gofiber/fiber/v2"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/civil"
)

// bind decodes a JSON request body into dst strictly: the content type must be JSON,
// unknown fields, wrong types, trailing data and malformed JSON are Invalid, and the
// offending field is named.
func bind(c *fiber.Ctx, dst any) error {
	ct := c.Get(fiber.HeaderContentType)
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != fiber.MIMEApplicationJSON {
		return &apperr.Error{Kind: apperr.Invalid, Code: "unsupported_media_type",
			Detail: "请求内容必须是 JSON / the body must be application/json"}
	}
	body := c.Body()
	if len(bytes.TrimSpace(body)) == 0 {
		return apperr.New(apperr.Invalid, "body_required", "请求内容为空 / a JSON body is required")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(dst); err != nil {
		return decodeError(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return apperr.New(apperr.Invalid, "malformed_json", "JSON 格式错误 / unexpected data after the JSON value")
	}
	return nil
}

func decodeError(err error) error {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return apperr.New(apperr.Invalid, "malformed_json",
			fmt.Sprintf("JSON 格式错误 / malformed JSON at byte %d: %s", syn.Offset, syn.Error()))
	case errors.Is(err, io.ErrUnexpectedEOF):
		return apperr.New(apperr.Invalid, "malformed_json", "JSON 格式错误 / the JSON body ends too early")
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "(body)"
		}
		return &apperr.Error{Kind: apperr.Invalid, Code: "wrong_type",
			Detail: fmt.Sprintf("字段类型错误 / field %s must be %s, not %s", field, typeName(typ.Type.Kind().String()), typ.Value),
			Fields: []apperr.FieldError{{Field: field, Reason: "must be " + typeName(typ.Type.Kind().String())}}}
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		field := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		return &apperr.Error{Kind: apperr.Invalid, Code: "unknown_field",
			Detail: "未知字段 / unknown field " + field,
			Fields: []apperr.FieldError{{Field: field, Reason: "unknown field"}}}
	}
	var ae *apperr.Error
	if errors.As(err, &ae) { // from a custom UnmarshalJSON
		return ae
	}
	return apperr.Wrap(err, apperr.Invalid, "malformed_json", "JSON 格式错误 / "+err.Error())
}

func typeName(kind string) string {
	switch kind {
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	}
	return kind
}

// pathID returns the positive integer path parameter name.
func pathID(c *fiber.Ctx, name string) (int64, error) {
	raw := c.Params(name)
	id, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != raw {
		return 0, &apperr.Error{Kind: apperr.Invalid, Code: "invalid_path_id",
			Detail: fmt.Sprintf("路径中的编号无效 / %s must be a positive integer, got %q", name, raw),
			Fields: []apperr.FieldError{{Field: name, Reason: "must be a positive integer"}}}
	}
	return id, nil
}

// pathDate returns the YYYY-MM-DD path parameter name.
func pathDate(c *fiber.Ctx, name string) (civil.Date, error) {
	d, err := civil.ParseDate(c.Params(name))
	if err != nil {
		return civil.Date{}, &apperr.Error{Kind: apperr.Invalid, Code: "invalid_path_date",
			Detail: fmt.Sprintf("日期无效 / %s must be a date like 2026-11-28", name),
			Fields: []apperr.FieldError{{Field: name, Reason: "must be YYYY-MM-DD"}}}
	}
	return d, nil
}

// queryDate returns the optional YYYY-MM-DD query parameter name, or def.
func queryDate(c *fiber.Ctx, name string, def civil.Date) (civil.Date, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	d, err := civil.ParseDate(raw)
	if err != nil {
		return civil.Date{}, &apperr.Error{Kind: apperr.Invalid, Code: "invalid_query",
			Detail: fmt.Sprintf("%s must be a date like 2026-11-28", name),
			Fields: []apperr.FieldError{{Field: name, Reason: "must be YYYY-MM-DD"}}}
	}
	return d, nil
}

// bindOptional is bind for a body that may be left out: an empty body leaves dst alone.
func bindOptional(c *fiber.Ctx, dst any) error {
	if len(bytes.TrimSpace(c.Body())) == 0 {
		return nil
	}
	return bind(c, dst)
}

// queryInt returns the optional integer query parameter name within min..max, or def.
func queryInt(c *fiber.Ctx, name string, def, min, max int64) (int64, error) {
	raw := c.Query(name)
	if raw == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil || n < min || n > max {
		reason := fmt.Sprintf("must be an integer from %d to %d", min, max)
		return 0, &apperr.Error{Kind: apperr.Invalid, Code: "invalid_query",
			Detail: fmt.Sprintf("查询参数无效 / %s %s", name, reason),
			Fields: []apperr.FieldError{{Field: name, Reason: reason}}}
	}
	return n, nil
}

// renameField returns err with the field a service calls from named to, as the caller
// sent it (a query parameter named differently from the service's argument).
func renameField(err error, from, to string) error {
	ae, ok := apperr.As(err)
	if !ok || len(ae.Fields) == 0 {
		return err
	}
	out := *ae
	out.Fields = make([]apperr.FieldError, len(ae.Fields))
	for i, f := range ae.Fields {
		if f.Field == from {
			f.Field = to
		}
		out.Fields[i] = f
	}
	out.Detail = strings.ReplaceAll(out.Detail, from, to)
	return &out
}
