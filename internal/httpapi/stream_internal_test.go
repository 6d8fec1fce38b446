package httpapi

import (
	"sync"
	"testing"
)

// TestPrinterEventReadOncePerChange: however many screens of a canteen owe a printer
// event, the printer is read once per change; a failed read is tried again.
func TestPrinterEventReadOncePerChange(t *testing.T) {
	h := NewHub()
	defer h.Close()
	var mu sync.Mutex
	reads := 0
	read := func(body string) func() []byte {
		return func() []byte {
			mu.Lock()
			defer mu.Unlock()
			reads++
			if body == "" {
				return nil
			}
			return []byte(body)
		}
	}
	screens := func(body string) {
		var wg sync.WaitGroup
		for range 20 {
			wg.Go(func() {
				if got := h.printerEvent(7, read(body)); body != "" && string(got) != body {
					t.Errorf("a screen got %q, want %q", got, body)
				}
			})
		}
		wg.Wait()
	}

	h.PublishPrinter(1, 7)
	screens(`{"status":"down"}`)
	if reads != 1 {
		t.Fatalf("20 screens read the printer %d times after one change, want 1", reads)
	}
	h.PublishPrinter(1, 7)
	screens(`{"status":"ok"}`)
	if reads != 2 {
		t.Fatalf("%d reads after the second change, want 2", reads)
	}
	h.PublishPrinter(1, 7)
	screens("") // the database is away: nothing kept, every screen tries
	if reads != 22 {
		t.Fatalf("%d reads while reading fails, want 2 + 20", reads)
	}
}
