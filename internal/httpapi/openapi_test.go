package httpapi

import (
	"fmt"
	"testing"
	"time"
)

func TestZZProbe(t *testing.T) {
	app := New(Deps{}, Options{BodyLimit: 1 << 20, RequestTimeout: time.Second})
	for _, r := range app.GetRoutes(true) {
		fmt.Println(r.Method, r.Path, len(r.Handlers))
	}
	fmt.Println("----- unfiltered GET/PATCH")
	for _, r := range app.GetRoutes(false) {
		if r.Method == "GET" || r.Method == "PATCH" {
			fmt.Println(r.Method, r.Path, len(r.Handlers))
		}
	}
}
