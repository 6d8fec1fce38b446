package wechatpayfake

import (
	"bytes"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// NotifyOptions shapes the notifications Notify and NotifyRefund send. The zero value sends
// one well-formed notification.
type NotifyOptions struct {
	Duplicates     int           // extra identical copies after the first
	Delay          time.Duration // wait before each copy
	StaleTimestamp bool          // Wechatpay-Timestamp 6 minutes old (validly signed)
	ForgeSignature bool          // signed with a key that is not the fake's
	WrongAPIv3Key  bool          // resource encrypted with another APIv3 key
	Truncate       bool          // body cut in half after signing
	SignTest       bool          // a signature probe: Wechatpay-Signature starts WECHATPAY/SIGNTEST/
}

// event is one notification; its payload is fixed when the event happens.
type event struct {
	id, createTime, eventType, summary string
	originalType                       string // also the AEAD associated data
	plaintext                          []byte
}

// envelope encrypts ev's payload with key (AES-256-GCM, a 12-character nonce) into the
// notification body WeChat Pay posts.
func envelope(ev event, key string) ([]byte, error) {
	block, err := aes.NewCipher([]byte(key))
	if err != nil {
		return nil, err
	}
	gcm, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	nonce := randomAlnum(12)
	ct := gcm.Seal(nil, []byte(nonce), ev.plaintext, []byte(ev.originalType))
	type resource struct {
		OriginalType   string `json:"original_type"`
		Algorithm      string `json:"algorithm"`
		Ciphertext     string `json:"ciphertext"`
		AssociatedData string `json:"associated_data"`
		Nonce          string `json:"nonce"`
	}
	return json.Marshal(struct {
		ID           string   `json:"id"`
		CreateTime   string   `json:"create_time"`
		ResourceType string   `json:"resource_type"`
		EventType    string   `json:"event_type"`
		Summary      string   `json:"summary"`
		Resource     resource `json:"resource"`
	}{
		ID: ev.id, CreateTime: ev.createTime, ResourceType: "encrypt-resource",
		EventType: ev.eventType, Summary: ev.summary,
		Resource: resource{
			OriginalType: ev.originalType, Algorithm: "AEAD_AES_256_GCM",
			Ciphertext: base64.StdEncoding.EncodeToString(ct), AssociatedData: ev.originalType, Nonce: nonce,
		},
	})
}

// deliver posts ev to target 1+Duplicates times as opt says and returns the status of
// each answer. It stops at the first send that gets no answer (ErrNotDelivered).
func (s *Server) deliver(ctx context.Context, target string, ev event, opt NotifyOptions) ([]int, error) {
	if target == "" {
		return nil, fmt.Errorf("%w: no notify_url", ErrNotDelivered)
	}
	apiV3Key := s.opt.APIv3Key
	if opt.WrongAPIv3Key {
		apiV3Key = randomAlnum(32)
	}
	var statuses []int
	for range 1 + max(opt.Duplicates, 0) {
		if opt.Delay > 0 {
			t := time.NewTimer(opt.Delay)
			select {
			case <-t.C:
			case <-ctx.Done():
				t.Stop()
				return statuses, fmt.Errorf("%w: %w", ErrNotDelivered, ctx.Err())
			}
		}
		body, err := envelope(ev, apiV3Key)
		if err != nil {
			return statuses, fmt.Errorf("%w: encrypt: %w", ErrNotDelivered, err)
		}
		ts := time.Now()
		if opt.StaleTimestamp {
			ts = ts.Add(-6 * time.Minute)
		}
		key := s.key
		if opt.ForgeSignature {
			key = s.forgeKey()
		}
		h := s.sign(key, ts.Unix(), body)
		if opt.SignTest {
			h.Set("Wechatpay-Signature", signTestTag+randomAlnum(64))
		}
		if opt.Truncate {
			body = body[:len(body)/2]
		}
		status, err := s.post(ctx, target, h, body)
		if err != nil {
			return statuses, fmt.Errorf("%w: %w", ErrNotDelivered, err)
		}
		statuses = append(statuses, status)
	}
	return statuses, nil
}

func (s *Server) post(ctx context.Context, target string, h http.Header, body []byte) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	req.Header = h
	req.Header.Set("Wechatpay-Signature-Type", authScheme)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "Mozilla/4.0 (wechatpayfake)")
	resp, err := s.notifier.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// deliverOnce sends ev once, as Pay and SettleRefund do, and reports anything but a 2xx
// answer as ErrNotDelivered.
func (s *Server) deliverOnce(target string, ev event) error {
	if target == "" {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	statuses, err := s.deliver(ctx, target, ev, NotifyOptions{})
	if err != nil {
		return err
	}
	if st := statuses[0]; st < 200 || st > 299 {
		return fmt.Errorf("%w: the receiver answered %d", ErrNotDelivered, st)
	}
	return nil
}
