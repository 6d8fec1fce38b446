package httpapi_test

import (
	"fmt"
	"strings"
	"testing"
)

// TestKitchenStations lists a canteen's kitchen stations for its screen: none for a
// canteen with only the implicit station, then each station with its categories in id
// order; another community's canteen is not found.
func TestKitchenStations(t *testing.T) {
	e := newEnv(t, 100)
	path := fmt.Sprintf("/api/v1/kitchen/canteens/%d/stations", e.ids["canteen"])
	if got := strings.TrimSpace(body(e.do("GET", path, e.tokens["kitchen"], ""))); got != `{"stations":[]}` {
		t.Fatalf("stations of a canteen without any: %s", got)
	}
	hot, staple := e.stationMenu()
	var cold int64
	if err := e.db.NewRaw("INSERT INTO kitchen_stations (community_id, canteen_id, name) VALUES (?, ?, '凉菜') RETURNING id",
		e.ids["community"], e.ids["canteen"]).Scan(t.Context(), &cold); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf(`{"stations":[{"id":%d,"name":"热菜","categories":["荤菜"]},{"id":%d,"name":"主食","categories":["主食"]},{"id":%d,"name":"凉菜","categories":[]}]}`,
		hot, staple, cold)
	for _, who := range []string{"kitchen", "admin"} {
		resp := e.do("GET", path, e.tokens[who], "")
		if got := strings.TrimSpace(body(resp)); resp.StatusCode != 200 || got != want {
			t.Errorf("%s: %d %s\nwant %s", who, resp.StatusCode, got, want)
		}
	}
	resp := e.do("GET", path, e.tokens["adminB"], "")
	if b := body(resp); resp.StatusCode != 404 {
		t.Errorf("another community's canteen: %d %s, want 404", resp.StatusCode, b)
	}
}
