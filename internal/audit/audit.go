// Package audit describes the append-only record of who changed what. Storage
// packages write a Record in the same transaction as the change it describes.
package audit

import (
	"encoding/json"
	"time"
)

// ActorKind says what kind of principal made a change.
type ActorKind string

// The actor kinds.
const (
	Staff  ActorKind = "staff"
	Diner  ActorKind = "diner"
	System ActorKind = "system"
)

// Actor is who made a change. ID is zero for System.
type Actor struct {
	Kind ActorKind `json:"kind"`
	ID   int64     `json:"id,omitempty"`
	Name string    `json:"name"`
}

// SystemActor is the actor of scheduled and seeded changes.
var SystemActor = Actor{Kind: System, Name: "system"}

// Record is one change. Before is null for creations, After is null for deletions.
type Record struct {
	ID          int64           `json:"id"`
	CommunityID int64           `json:"community_id"`
	Actor       Actor           `json:"actor"`
	Action      string          `json:"action"`
	Entity      string          `json:"entity"`
	EntityID    string          `json:"entity_id"`
	Before      json.RawMessage `json:"before"`
	After       json.RawMessage `json:"after"`
	At          time.Time       `json:"at"`
}

// Filter narrows a listing. Zero fields match everything. BeforeID pages backwards.
type Filter struct {
	Entity   string
	EntityID string
	BeforeID int64
	Limit    int
}
