package eligibility

import (
	"time"

	"github.com/canteen-oss/canteen/internal/subsidy"
)

// Diner is a diner as the counter sees them: phone and ID-card numbers only masked, and never
// a group or a status flag (kitchen and counter screens must not identify anyone).
type Diner struct {
	ID             int64     `json:"id"`
	CommunityID    int64     `json:"community_id"`
	Name           string    `json:"name"` // real name; the WeChat nickname when no real name is known
	PhoneMasked    string    `json:"phone_masked,omitempty"`
	IDNumberMasked string    `json:"id_number_masked,omitempty"` // of the diner's latest eligibility with one
	RegisteredBy   int64     `json:"registered_by,omitempty"`    // staff id; 0 for WeChat self-registration
	CreatedAt      time.Time `json:"created_at"`
}

// NewDiner is a diner registered at the counter, without WeChat. Phone is normalised
// (secure.NormalizePhone) or "".
type NewDiner struct {
	Name         string
	Phone        string
	RegisteredBy int64 // staff id
}

// DinerQuery is one counter lookup; exactly one field is set. Phone and ID match exactly
// (through their blind indexes), NamePrefix matches the start of a real name.
type DinerQuery struct {
	Phone      string           // normalised
	IDNumber   subsidy.IDNumber // any eligibility, whatever its status
	NamePrefix string
	Limit      int
}
