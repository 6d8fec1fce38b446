// Package secure protects personal data at rest: it seals ID-card and phone numbers with
// AES-256-GCM under a rotating keyring, computes blind indexes so duplicates can be found
// without decrypting, and masks and normalises such numbers for display and lookup.
package secure

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// KeySize is the size in bytes of every key: data keys (AES-256) and the index key.
const KeySize = 32

// Blind-index kinds used across the system, so that every caller indexes the same way.
const (
	KindPhone    = "phone"
	KindIDNumber = "id_number"
)

// indexInfo separates the blind-index HMAC key from any other use of the index key material.
const indexInfo = "canteen/secure blind-index v1"

var (
	// ErrUnknownKey means a ciphertext names a key id the keyring does not hold (kind Internal).
	ErrUnknownKey = apperr.New(apperr.Internal, "secure_unknown_key", "no key with this id in the keyring")
	// ErrOpen means a ciphertext failed authentication: wrong aad, wrong key or tampered data (kind Internal).
	ErrOpen = apperr.New(apperr.Internal, "secure_open_failed", "ciphertext failed authentication")
)

// A Keyring holds the active data key, older data keys that may still open data, and the
// blind-index key. It is safe for concurrent use. Printing or logging it shows key ids only.
type Keyring struct {
	active string                 // id of the key Seal uses
	aeads  map[string]cipher.AEAD // every data key by id, active included
	index  []byte                 // HMAC key for BlindIndex, derived from the index key argument
}

// ParseKeyring builds a keyring. indexKey is base64(32 bytes); it keys BlindIndex and, unlike
// the data keys, must never change, or every stored index stops matching. active and old are
// "keyid:base64(32 bytes)" with keyid matching ^[a-z0-9-]{1,16}$; Seal uses active, Open
// accepts any of them. Errors name the faulty argument and never contain key material.
func ParseKeyring(indexKey string, active string, old ...string) (*Keyring, error) {
	ik, err := decodeKey(indexKey)
	if err != nil {
		return nil, fmt.Errorf("secure: index key: %w", err)
	}
	idx, err := hkdf.Key(sha256.New, ik, nil, indexInfo, KeySize)
	if err != nil {
		return nil, fmt.Errorf("secure: derive index key: %w", err)
	}
	kr := &Keyring{aeads: make(map[string]cipher.AEAD, 1+len(old)), index: idx}
	for i, spec := range append([]string{active}, old...) {
		what := "active key"
		if i > 0 {
			what = fmt.Sprintf("old key %d", i)
		}
		id, aead, err := parseKey(spec)
		if err != nil {
			return nil, fmt.Errorf("secure: %s: %w", what, err)
		}
		if _, dup := kr.aeads[id]; dup {
			return nil, fmt.Errorf("secure: %s: key id %q appears twice", what, id)
		}
		kr.aeads[id] = aead
		if i == 0 {
			kr.active = id
		}
	}
	return kr, nil
}

func parseKey(spec string) (string, cipher.AEAD, error) {
	id, b64, ok := strings.Cut(strings.TrimSpace(spec), ":")
	if !ok {
		return "", nil, errors.New(`want "keyid:base64(32 bytes)", found no ':'`)
	}
	if !validKeyID(id) {
		// The id is not secret, but a malformed one may be key material pasted in the wrong place.
		return "", nil, fmt.Errorf("key id must match ^[a-z0-9-]{1,16}$ (got %d characters)", len(id))
	}
	key, err := decodeKey(b64)
	if err != nil {
		return "", nil, fmt.Errorf("key %q: %w", id, err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return "", nil, fmt.Errorf("key %q: %w", id, err)
	}
	aead, err := cipher.NewGCMWithRandomNonce(block)
	if err != nil {
		return "", nil, fmt.Errorf("key %q: %w", id, err)
	}
	return id, aead, nil
}

// decodeKey decodes standard base64 (padded) of exactly KeySize bytes. Its errors say what is
// wrong without echoing the input.
func decodeKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty; want base64 of 32 bytes")
	}
	key, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		return nil, errors.New("not valid standard base64")
	}
	if len(key) != KeySize {
		return nil, fmt.Errorf("decodes to %d bytes; want %d", len(key), KeySize)
	}
	return key, nil
}

func validKeyID(id string) bool {
	if len(id) < 1 || len(id) > 16 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ActiveKeyID returns the id of the key Seal uses. Rows sealed under another id are due for
// re-encryption after a rotation.
func (kr *Keyring) ActiveKeyID() string { return kr.active }

// KeyIDs returns the ids of every data key in the keyring, sorted.
func (kr *Keyring) KeyIDs() []string {
	ids := make([]string, 0, len(kr.aeads))
	for id := range kr.aeads {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Seal encrypts plaintext with the active key (AES-256-GCM, a random 12-byte nonce prepended
// to the ciphertext). aad names where the value lives, such as "diners.phone:42"; Open must be
// given the same aad. Store keyID next to the ciphertext.
func (kr *Keyring) Seal(plaintext []byte, aad string) (keyID string, ciphertext []byte, err error) {
	aead, ok := kr.aeads[kr.active]
	if !ok {
		return "", nil, errors.New("secure: seal: keyring has no active key")
	}
	return kr.active, aead.Seal(nil, nil, plaintext, []byte(aad)), nil
}

// Open decrypts a ciphertext made by Seal under key keyID with the same aad. Errors wrap
// ErrUnknownKey when keyID is not in the keyring and ErrOpen when authentication fails.
func (kr *Keyring) Open(keyID string, ciphertext []byte, aad string) ([]byte, error) {
	aead, ok := kr.aeads[keyID]
	if !ok {
		return nil, fmt.Errorf("secure: open with key %q: %w", keyID, ErrUnknownKey)
	}
	plaintext, err := aead.Open(nil, nil, ciphertext, []byte(aad))
	if err != nil {
		return nil, fmt.Errorf("secure: open with key %q, aad %q: %w", keyID, aad, ErrOpen)
	}
	return plaintext, nil
}

// BlindIndex returns HMAC-SHA256(index key, kind + "\x00" + value), 32 bytes, so equal values
// can be found with a unique index without decrypting. value must already be normalised
// (NormalizePhone, subsidy.IDNumber.Reveal); BlindIndex does not normalise. kind is a
// constant such as KindPhone and must not contain NUL (BlindIndex panics if it does).
// The index key does not change when data keys rotate, so stored indexes stay valid.
func (kr *Keyring) BlindIndex(kind, value string) []byte {
	if strings.IndexByte(kind, 0) >= 0 {
		panic("secure: BlindIndex kind contains NUL")
	}
	m := hmac.New(sha256.New, kr.index)
	io.WriteString(m, kind)
	m.Write([]byte{0})
	io.WriteString(m, value)
	return m.Sum(nil)
}

// String describes the keyring by key ids only.
func (kr *Keyring) String() string {
	if kr == nil {
		return "secure.Keyring(nil)"
	}
	return fmt.Sprintf("secure.Keyring{active: %s, keys: %s}", kr.active, strings.Join(kr.KeyIDs(), ","))
}

// Format prints String for every verb (%v, %+v, %#v, %s ...), so no key material can be printed.
func (kr *Keyring) Format(f fmt.State, verb rune) { io.WriteString(f, kr.String()) }

// LogValue logs the keyring by key ids only.
func (kr *Keyring) LogValue() slog.Value { return slog.StringValue(kr.String()) }

// DemoKeyring returns a fixed keyring whose keys are derived from public strings, with the key
// id "demo-not-secret". It is for `canteen dev` and tests only: never use it in production,
// since anyone can read data sealed under it.
func DemoKeyring() *Keyring {
	key := func(label string) string {
		sum := sha256.Sum256([]byte("canteen demo keyring, public, never use in production: " + label))
		return base64.StdEncoding.EncodeToString(sum[:])
	}
	kr, err := ParseKeyring(key("index"), "demo-not-secret:"+key("data"))
	if err != nil {
		panic("secure: demo keyring: " + err.Error())
	}
	return kr
}
