package wechatpay_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"math/big"
	mathrand "math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/canteen-oss/canteen/internal/apperr"
	"github.com/canteen-oss/canteen/internal/payment/wechatpay"
	"github.com/canteen-oss/canteen/internal/payment/wechatpayfake"
)

// notification is a notification as posted: the headers that matter and the body.
type notification struct {
	serial, signature, timestamp, nonce string
	body                                []byte
}

func (n notification) request() *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/notify/pay", bytes.NewReader(n.body))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Wechatpay-Signature-Type", "WECHATPAY2-SHA256-RSA2048")
	r.Header.Set("Wechatpay-Serial", n.serial)
	r.Header.Set("Wechatpay-Signature", n.signature)
	r.Header.Set("Wechatpay-Timestamp", n.timestamp)
	r.Header.Set("Wechatpay-Nonce", n.nonce)
	return r
}

// capture records every notification posted to it and answers 204.
type capture struct {
	mu  sync.Mutex
	got []notification
}

func (c *capture) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	c.mu.Lock()
	c.got = append(c.got, notification{serial: r.Header.Get("Wechatpay-Serial"), signature: r.Header.Get("Wechatpay-Signature"),
		timestamp: r.Header.Get("Wechatpay-Timestamp"), nonce: r.Header.Get("Wechatpay-Nonce"), body: body})
	c.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (c *capture) take() []notification {
	c.mu.Lock()
	defer c.mu.Unlock()
	got := c.got
	c.got = nil
	return got
}

// signedBy reports whether pub signed n as the SDK reads it: the timestamp as an integer,
// the header values trimmed, the signature in base64.
func signedBy(pub *rsa.PublicKey, n notification) bool {
	ts, err := strconv.ParseInt(strings.TrimSpace(n.timestamp), 10, 64)
	if err != nil {
		return false
	}
	sig, err := base64.StdEncoding.DecodeString(strings.TrimSpace(n.signature))
	if err != nil {
		return false
	}
	sum := sha256.Sum256(fmt.Appendf(nil, "%d\n%s\n%s\n", ts, strings.TrimSpace(n.nonce), n.body))
	return rsa.VerifyPKCS1v15(pub, crypto.SHA256, sum[:], sig) == nil
}

// fuzzKeyID names fuzzKey for the client that parses; the notifications the fake signs
// with it are relabelled so, because the fake's own key id is random.
const fuzzKeyID = "PUB_KEY_ID_0114232134912410000000000000"

// fuzzKey is the fake's signing key in FuzzParsePaymentNotification. The fuzzing workers
// are separate processes that get the seeds from the coordinator, so the key must be the
// same in each: it is made from a fixed seed.
var fuzzKey = sync.OnceValue(func() *rsa.PrivateKey {
	rng := mathrand.NewChaCha8([32]byte{'c', 'a', 'n', 't', 'e', 'e', 'n'})
	prime := func() *big.Int {
		b := make([]byte, 128)
		for {
			_, _ = rng.Read(b)
			b[0] |= 0xc0 // 1024 bits, and 2048 for the product
			b[len(b)-1] |= 1
			if p := new(big.Int).SetBytes(b); p.ProbablyPrime(20) {
				return p
			}
		}
	}
	one, e := big.NewInt(1), big.NewInt(65537)
	for {
		p, q := prime(), prime()
		phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
		d := new(big.Int).ModInverse(e, phi)
		if d == nil || p.Cmp(q) == 0 {
			continue
		}
		k := &rsa.PrivateKey{PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: int(e.Int64())}, D: d, Primes: []*big.Int{p, q}}
		k.Precompute()
		if err := k.Validate(); err != nil {
			panic(err)
		}
		return k
	}
})

// FuzzParsePaymentNotification posts arbitrary notifications to ParsePaymentNotification.
// It must never panic and must reject with Invalid only; whatever it accepts must carry
// the fake's signature and read as the payment the fake notified. The seeds are genuine
// notifications of the fake and broken copies of them.
func FuzzParsePaymentNotification(f *testing.F) {
	ctx := context.Background()
	// A fixed business clock, so every worker's fake notifies the same payments.
	c := &clock{t: time.Date(2026, 3, 14, 11, 30, 0, 0, cst)}
	fake := wechatpayfake.New(wechatpayfake.Options{
		MchID: mchID, AppID: appID, APIv3Key: apiV3Key, Mode: wechatpayfake.PublicKey,
		MerchantPublicKey: &merchantKey().PublicKey, MerchantSerial: merchantSerial,
		PlatformKey: fuzzKey(), Now: c.Now,
	})
	base, stop := fake.Start()
	f.Cleanup(stop)
	recv := &capture{}
	srv := httptest.NewServer(recv)
	f.Cleanup(srv.Close)
	cfg := wechatpay.Config{
		MchID: mchID, AppID: appID, MerchantSerial: merchantSerial, MerchantKey: merchantKey(), APIv3Key: apiV3Key,
		PublicKeyID: fake.PublicKeyID(), PublicKey: fake.PublicKey(), NotifyURL: srv.URL + "/notify/pay", BaseURL: base,
	}
	payer, err := wechatpay.New(cfg) // places the orders
	if err != nil {
		f.Fatal(err)
	}
	cfg.PublicKeyID = fuzzKeyID
	client, err := wechatpay.New(cfg) // parses the notifications
	if err != nil {
		f.Fatal(err)
	}

	// Genuine notifications: two payments, and the first sent again (a new nonce and
	// ciphertext for the same payment); want is what each payment must read as.
	want := make(map[string]wechatpay.Transaction)
	for _, no := range []string{"CT20260314000041", "CT20260314000042"} {
		if _, err := payer.Prepay(ctx, lunch(no)); err != nil {
			f.Fatal(err)
		}
		if err := fake.Pay(no); err != nil {
			f.Fatal(err)
		}
		tx, err := payer.Query(ctx, no)
		if err != nil {
			f.Fatal(err)
		}
		want[no] = tx
	}
	if _, err := fake.Notify(ctx, "CT20260314000041", wechatpayfake.NotifyOptions{}); err != nil {
		f.Fatal(err)
	}
	seeds := recv.take()
	for i := range seeds {
		seeds[i].serial = fuzzKeyID
		tx, err := client.ParsePaymentNotification(seeds[i].request())
		if err != nil {
			f.Fatalf("a genuine notification: %v", err)
		}
		if diff := cmp.Diff(want[tx.OutTradeNo], tx); diff != "" {
			f.Fatalf("a genuine notification (-queried +notified):\n%s", diff)
		}
	}
	if len(seeds) != 3 {
		f.Fatalf("%d genuine notifications, want 3", len(seeds))
	}

	// What the fake sends wrong on purpose.
	for _, opt := range []wechatpayfake.NotifyOptions{
		{ForgeSignature: true}, {WrongAPIv3Key: true}, {StaleTimestamp: true}, {SignTest: true}, {Truncate: true},
	} {
		if _, err := fake.Notify(ctx, "CT20260314000042", opt); err != nil {
			f.Fatal(err)
		}
	}
	for _, n := range recv.take() {
		n.serial = fuzzKeyID
		seeds = append(seeds, n)
	}

	// And by hand: cut, garbled, mixed up and empty.
	g, h := seeds[0], seeds[1]
	variant := func(n notification, change func(*notification)) notification {
		n.body = bytes.Clone(n.body)
		change(&n)
		return n
	}
	seeds = append(seeds,
		// Respelt headers of a genuine notification: the same signed message, so accepted.
		variant(g, func(n *notification) { n.timestamp = " +0" + n.timestamp + "\t" }),
		variant(g, func(n *notification) { n.nonce, n.serial = " "+n.nonce+" ", n.serial+" " }),
		variant(g, func(n *notification) { n.body = n.body[:len(n.body)/2] }),
		variant(g, func(n *notification) { n.body = n.body[:len(n.body)-1] }),
		variant(g, func(n *notification) { n.body[len(n.body)/2] ^= 0x01 }),
		variant(g, func(n *notification) { n.body = append(n.body, ' ') }),
		variant(g, func(n *notification) {
			n.body = bytes.Replace(n.body, []byte(`"ciphertext":"`), []byte(`"ciphertext":"A`), 1)
		}),
		variant(g, func(n *notification) { n.body, n.signature = h.body, h.signature }),
		variant(g, func(n *notification) { n.nonce = h.nonce }),
		variant(g, func(n *notification) { n.timestamp = h.timestamp + "0" }),
		variant(g, func(n *notification) { n.serial = "PUB_KEY_ID_0000000000000000000000000000" }),
		variant(g, func(n *notification) { n.signature = n.signature[:len(n.signature)-4] }),
		variant(g, func(n *notification) { n.signature = "" }),
		variant(g, func(n *notification) { n.body = nil }),
		variant(g, func(n *notification) { n.body = []byte(`{"resource":{"algorithm":"AEAD_AES_256_GCM","nonce":"x"}}`) }),
		variant(g, func(n *notification) { n.body = []byte(`{}`) }),
		notification{},
	)
	for _, n := range seeds {
		f.Add(n.body, n.serial, n.signature, n.timestamp, n.nonce)
	}

	pub := &fuzzKey().PublicKey
	f.Fuzz(func(t *testing.T, body []byte, serial, signature, timestamp, nonce string) {
		n := notification{serial: serial, signature: signature, timestamp: timestamp, nonce: nonce, body: body}
		tx, err := client.ParsePaymentNotification(n.request())
		if err != nil {
			if k := apperr.KindOf(err); k != apperr.Invalid {
				t.Fatalf("rejected with kind %v, want Invalid: %v", k, err)
			}
			return
		}
		if strings.TrimSpace(serial) != fuzzKeyID || !signedBy(pub, n) {
			t.Fatalf("accepted a notification the fake did not sign: %+v", n)
		}
		w, ok := want[tx.OutTradeNo]
		if !ok {
			t.Fatalf("accepted a payment the fake never notified: %+v", tx)
		}
		if diff := cmp.Diff(w, tx); diff != "" {
			t.Fatalf("a genuine notification read differently (-notified +read):\n%s", diff)
		}
	})
}
