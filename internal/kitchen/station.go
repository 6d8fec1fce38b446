package kitchen

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// A Station is a part of a canteen's kitchen (wok, steamer, cold dishes) that cooks the
// dishes of its categories. A canteen with no stations has one implicit station, ID 0.
type Station struct {
	ID         int64
	CanteenID  int64
	Name       string
	Categories []string // dish categories it cooks; empty: whatever no other station claims
}

// Route returns the ID of the station that cooks a dish of category: the first station
// listing the category, else the first station listing none, else 0 (the implicit station).
func Route(stations []Station, category string) int64 {
	for _, st := range stations {
		if slices.Contains(st.Categories, category) {
			return st.ID
		}
	}
	for _, st := range stations {
		if len(st.Categories) == 0 {
			return st.ID
		}
	}
	return 0
}

// A Line is one dish on a ticket, routed to a station (0: the implicit station).
type Line struct {
	LineNo    int
	Name      string
	Qty       int
	Note      string
	StationID int64
}

// Notes summarises the notes of lines for the ticket's header: "红烧肉: 少辣; 米饭: 软一点".
func Notes(lines []Line) string {
	var parts []string
	for _, l := range lines {
		if n := strings.TrimSpace(l.Note); n != "" {
			parts = append(parts, l.Name+": "+n)
		}
	}
	return strings.Join(parts, "; ")
}

// Stations returns the distinct stations of lines in order of first appearance, without
// the implicit station 0.
func Stations(lines []Line) []int64 {
	out := []int64{}
	for _, l := range lines {
		if l.StationID != 0 && !slices.Contains(out, l.StationID) {
			out = append(out, l.StationID)
		}
	}
	return out
}

// Stations lists a canteen's stations in id order, for screens that show one station's
// lines; an empty list means the canteen has only the implicit station.
func (s *Service) Stations(ctx context.Context, communityID, canteenID int64) ([]Station, error) {
	st, err := s.store.Stations(ctx, communityID, canteenID)
	if err != nil {
		return nil, fmt.Errorf("kitchen: stations of canteen %d: %w", canteenID, err)
	}
	return st, nil
}
