package config

import (
	"strings"
	"testing"
	"time"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.HTTPAddr != ":8080" || c.RequestTimeout != 15*time.Second || c.BodyLimit != 1<<20 {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestLoadNamesBadVariables(t *testing.T) {
	_, err := Load(env(map[string]string{
		"CANTEEN_REQUEST_TIMEOUT": "soon",
		"CANTEEN_BODY_LIMIT":      "-3",
		"DATABASE_URL":            "mysql://x/y",
		"CANTEEN_WECHAT_APPID":    "wx123",
	}))
	if err == nil {
		t.Fatal("want an error")
	}
	for _, name := range []string{"CANTEEN_REQUEST_TIMEOUT", "CANTEEN_BODY_LIMIT", "DATABASE_URL", "CANTEEN_WECHAT_SECRET"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
}

func TestLinesMaskSecrets(t *testing.T) {
	e := env(map[string]string{
		"DATABASE_URL":          "postgres://canteen:hunter2@db:5432/canteen",
		"CANTEEN_WECHAT_APPID":  "wxabc",
		"CANTEEN_WECHAT_SECRET": "topsecret",
	})
	c, err := Load(e)
	if err != nil {
		t.Fatal(err)
	}
	joined := strings.Join(c.Lines(e), "\n")
	for _, secret := range []string{"hunter2", "topsecret"} {
		if strings.Contains(joined, secret) {
			t.Errorf("printed config leaks %q:\n%s", secret, joined)
		}
	}
	if !strings.Contains(joined, "CANTEEN_WECHAT_APPID=wxabc") || !strings.Contains(joined, "db:5432") {
		t.Errorf("printed config lost non-secret values:\n%s", joined)
	}
}

func TestWeChatPayConfig(t *testing.T) {
	_, err := Load(env(map[string]string{"CANTEEN_WECHATPAY_MCHID": "1900000001", "CANTEEN_WECHATPAY_APIV3_KEY": "short",
		"CANTEEN_WECHATPAY_NOTIFY_URL": "http://x/notify?a=1"}))
	if err == nil {
		t.Fatal("an incomplete WeChat Pay configuration was accepted")
	}
	for _, name := range []string{"CANTEEN_WECHATPAY_SERIAL", "CANTEEN_WECHATPAY_KEY_FILE", "CANTEEN_WECHATPAY_APIV3_KEY",
		"CANTEEN_WECHATPAY_NOTIFY_URL", "CANTEEN_WECHATPAY_PUBLIC_KEY_FILE"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error %q does not name %s", err, name)
		}
	}
	c, err := Load(env(map[string]string{"CANTEEN_WECHATPAY_MCHID": "1900000001", "CANTEEN_WECHATPAY_SERIAL": "5157F09E",
		"CANTEEN_WECHATPAY_KEY_FILE": "/k.pem", "CANTEEN_WECHATPAY_APIV3_KEY": "0123456789abcdef0123456789abcdef",
		"CANTEEN_WECHATPAY_PUBLIC_KEY_ID": "PUB_KEY_ID_01", "CANTEEN_WECHATPAY_PUBLIC_KEY_FILE": "/p.pem",
		"CANTEEN_WECHATPAY_NOTIFY_URL": "https://canteen.example/api/v1/payments/wechat/notify"}))
	if err != nil || !c.Pay.Enabled() {
		t.Fatalf("a complete configuration: %v", err)
	}
	if lines := strings.Join(c.Lines(env(map[string]string{"CANTEEN_WECHATPAY_APIV3_KEY": "0123456789abcdef0123456789abcdef"})), "\n"); strings.Contains(lines, "0123456789abcdef") {
		t.Fatal("the APIv3 key is printed")
	}
}
