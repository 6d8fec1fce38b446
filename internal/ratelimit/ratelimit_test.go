package ratelimit_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/canteen-oss/canteen/internal/ratelimit"
	"github.com/canteen-oss/canteen/internal/redistest"
)

func TestWindow(t *testing.T) {
	rdb := redistest.New(t)
	ctx := context.Background()
	prefix := fmt.Sprintf("test:rl:%d:", time.Now().UnixNano())
	w := ratelimit.New(rdb, prefix, 3, 300*time.Millisecond)
	for i := range 3 {
		ok, _, err := w.Allow(ctx, "alice")
		if err != nil || !ok {
			t.Fatalf("attempt %d: ok=%v err=%v", i+1, ok, err)
		}
	}
	ok, retry, err := w.Allow(ctx, "alice")
	if err != nil || ok || retry <= 0 || retry > 300*time.Millisecond {
		t.Fatalf("4th attempt: ok=%v retry=%v err=%v", ok, retry, err)
	}
	if ok, _, _ := w.Allow(ctx, "bob"); !ok {
		t.Fatal("another key must have its own count")
	}
	time.Sleep(retry + 50*time.Millisecond)
	if ok, _, _ := w.Allow(ctx, "alice"); !ok {
		t.Fatal("the window should have reset")
	}
}
