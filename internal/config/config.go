// Package config reads the one Config struct from the environment, validates it and
// prints it with secrets masked. It is loaded once in cmd/canteen and passed down.
package config

import (
	"fmt"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/secure"
)

// Config is every setting of the canteen processes. Each field names its variable and
// default in Vars; README.md lists the same table.
type Config struct {
	DatabaseURL       string
	RedisURL          string
	HTTPAddr          string
	PublicURL         string
	LogLevel          string
	BodyLimit         int           // bytes
	RequestTimeout    time.Duration // deadline of every HTTP request
	ShutdownTimeout   time.Duration
	StaffSessionTTL   time.Duration
	DinerSessionTTL   time.Duration
	DeviceSessionTTL  time.Duration // lifetime of a kitchen device's login
	LoginRatePerMin   int           // failed+successful login attempts per username and IP per minute
	DBMaxConns        int
	WorkerConcurrency int
	WorkerPoll        time.Duration // how long an idle worker waits before asking Redis for tasks again
	OutboxPoll        time.Duration // how often the relay looks at the outbox when no notification woke it
	WeChatBaseURL     string
	WeChatAppID       string
	WeChatSecret      string
	DevHTTPAddrFake   string // dev only: where the fake WeChat listens
	DataKey           string // "keyid:base64(32 bytes)" sealing personal data
	DataIndexKey      string // base64(32 bytes) keying blind indexes; never rotated
	DataOldKeys       []string
	OrderPayTimeout   time.Duration // how long an unpaid order keeps its subsidy, supply and limit slot
	Pay               WeChatPay
	ReadyTemplateID   string // subscribe-message template of "meal ready"; empty: none is sent
}

// WeChatPay is the merchant's WeChat Pay (APIv3) configuration. Empty MchID: no WeChat Pay
// (dev runs a local fake instead). Exactly one of PublicKeyFile (public-key mode, for
// merchants onboarded since late 2024) and PlatformCertFile (platform-certificate mode).
type WeChatPay struct {
	MchID            string
	MerchantSerial   string
	MerchantKeyFile  string
	APIv3Key         string
	PublicKeyID      string
	PublicKeyFile    string
	PlatformCertFile string
	NotifyURL        string
	BaseURL          string
	DevAddr          string // dev only: where the fake WeChat Pay listens
}

// Enabled reports whether a real merchant is configured.
func (p WeChatPay) Enabled() bool { return p.MchID != "" }

// Keyring builds the personal-data keyring from the config. Without keys it returns
// an error naming the variables; `canteen dev` uses the demo keyring instead.
func (c Config) Keyring() (*secure.Keyring, error) {
	if c.DataKey == "" || c.DataIndexKey == "" {
		return nil, fmt.Errorf("config: CANTEEN_DATA_KEY and CANTEEN_DATA_INDEX_KEY are required (README: personal data keys)")
	}
	kr, err := secure.ParseKeyring(c.DataIndexKey, c.DataKey, c.DataOldKeys...)
	if err != nil {
		return nil, fmt.Errorf("config: CANTEEN_DATA_KEY / CANTEEN_DATA_INDEX_KEY / CANTEEN_DATA_OLD_KEYS: %w", err)
	}
	return kr, nil
}

// Var describes one environment variable.
type Var struct {
	Name    string
	Default string
	Secret  bool
	Help    string
	set     func(c *Config, v string) error
}

func str(dst func(*Config) *string) func(*Config, string) error {
	return func(c *Config, v string) error { *dst(c) = v; return nil }
}

func posInt(dst func(*Config) *int) func(*Config, string) error {
	return func(c *Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("must be a positive integer, got %q", v)
		}
		*dst(c) = n
		return nil
	}
}

func dur(dst func(*Config) *time.Duration) func(*Config, string) error {
	return func(c *Config, v string) error {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("must be a positive duration such as 10s or 12h, got %q", v)
		}
		*dst(c) = d
		return nil
	}
}

func urlOf(schemes ...string) func(dst func(*Config) *string) func(*Config, string) error {
	return func(dst func(*Config) *string) func(*Config, string) error {
		return func(c *Config, v string) error {
			u, err := url.Parse(v)
			if err != nil || u.Host == "" && u.Scheme != "redis-socket" {
				return fmt.Errorf("must be a URL like %s://host, got %q", schemes[0], Mask(v))
			}
			for _, s := range schemes {
				if u.Scheme == s {
					*dst(c) = v
					return nil
				}
			}
			return fmt.Errorf("scheme must be one of %s, got %q", strings.Join(schemes, ", "), u.Scheme)
		}
	}
}

// Vars is the table of every variable, in the order they are printed.
var Vars = []Var{
	{Name: "DATABASE_URL", Default: "postgres://postgres@127.0.0.1:5432/canteen?sslmode=disable", Secret: true,
		Help: "PostgreSQL connection URL", set: urlOf("postgres", "postgresql")(func(c *Config) *string { return &c.DatabaseURL })},
	{Name: "REDIS_URL", Default: "redis://127.0.0.1:6379/0", Secret: true,
		Help: "Redis URL (redis://, rediss://, redis-sentinel://) for asynq queues and rate limits",
		set:  urlOf("redis", "rediss", "redis-sentinel", "redis-socket")(func(c *Config) *string { return &c.RedisURL })},
	{Name: "CANTEEN_HTTP_ADDR", Default: ":8080", Help: "listen address of the HTTP server",
		set: func(c *Config, v string) error {
			if !strings.Contains(v, ":") {
				return fmt.Errorf("must be host:port or :port, got %q", v)
			}
			c.HTTPAddr = v
			return nil
		}},
	{Name: "CANTEEN_PUBLIC_URL", Default: "http://localhost:8080", Help: "the URL people open; printed at start and used in links",
		set: urlOf("http", "https")(func(c *Config) *string { return &c.PublicURL })},
	{Name: "CANTEEN_LOG_LEVEL", Default: "info", Help: "debug, info, warn or error",
		set: func(c *Config, v string) error {
			switch v {
			case "debug", "info", "warn", "error":
				c.LogLevel = v
				return nil
			}
			return fmt.Errorf("must be debug, info, warn or error, got %q", v)
		}},
	{Name: "CANTEEN_BODY_LIMIT", Default: "1048576", Help: "largest request body in bytes",
		set: posInt(func(c *Config) *int { return &c.BodyLimit })},
	{Name: "CANTEEN_REQUEST_TIMEOUT", Default: "15s", Help: "deadline of every HTTP request",
		set: dur(func(c *Config) *time.Duration { return &c.RequestTimeout })},
	{Name: "CANTEEN_SHUTDOWN_TIMEOUT", Default: "20s", Help: "how long a stopping process waits for work in flight",
		set: dur(func(c *Config) *time.Duration { return &c.ShutdownTimeout })},
	{Name: "CANTEEN_STAFF_SESSION_TTL", Default: "12h", Help: "lifetime of a staff login",
		set: dur(func(c *Config) *time.Duration { return &c.StaffSessionTTL })},
	{Name: "CANTEEN_DINER_SESSION_TTL", Default: "720h", Help: "lifetime of a diner login",
		set: dur(func(c *Config) *time.Duration { return &c.DinerSessionTTL })},
	{Name: "CANTEEN_DEVICE_SESSION_TTL", Default: "4320h", Help: "lifetime of a kitchen device's login (180 days) unless an admin revokes it",
		set: dur(func(c *Config) *time.Duration { return &c.DeviceSessionTTL })},
	{Name: "CANTEEN_LOGIN_RATE", Default: "10", Help: "login attempts allowed per username and client IP per minute",
		set: posInt(func(c *Config) *int { return &c.LoginRatePerMin })},
	{Name: "CANTEEN_DB_MAX_CONNS", Default: "20", Help: "PostgreSQL connection pool size per process",
		set: posInt(func(c *Config) *int { return &c.DBMaxConns })},
	{Name: "CANTEEN_WORKER_CONCURRENCY", Default: "10", Help: "tasks one worker process runs at once",
		set: posInt(func(c *Config) *int { return &c.WorkerConcurrency })},
	{Name: "CANTEEN_WORKER_POLL_INTERVAL", Default: "100ms", Help: "how long a worker with no task waits before asking Redis again; a new kitchen ticket waits about half of it",
		set: dur(func(c *Config) *time.Duration { return &c.WorkerPoll })},
	{Name: "CANTEEN_OUTBOX_POLL_INTERVAL", Default: "1s", Help: "how often the outbox relay looks for unsent rows besides being woken by PostgreSQL NOTIFY on each commit",
		set: dur(func(c *Config) *time.Duration { return &c.OutboxPoll })},
	{Name: "CANTEEN_WECHAT_BASE_URL", Default: "https://api.weixin.qq.com", Help: "WeChat API base URL (the fake's URL in dev and tests)",
		set: urlOf("https", "http")(func(c *Config) *string { return &c.WeChatBaseURL })},
	{Name: "CANTEEN_WECHAT_APPID", Default: "", Help: "mini-program app id; empty in dev means the local fake WeChat",
		set: str(func(c *Config) *string { return &c.WeChatAppID })},
	{Name: "CANTEEN_WECHAT_SECRET", Default: "", Secret: true, Help: "mini-program app secret",
		set: str(func(c *Config) *string { return &c.WeChatSecret })},
	{Name: "CANTEEN_ORDER_PAY_TIMEOUT", Default: "15m", Help: "how long an unpaid order keeps its subsidy, supply and limit slot before it expires",
		set: dur(func(c *Config) *time.Duration { return &c.OrderPayTimeout })},
	{Name: "CANTEEN_WECHATPAY_MCHID", Default: "", Help: "WeChat Pay merchant id (商户号); empty: no WeChat Pay (dev runs a local fake)",
		set: str(func(c *Config) *string { return &c.Pay.MchID })},
	{Name: "CANTEEN_WECHATPAY_SERIAL", Default: "", Help: "serial number of the merchant API certificate",
		set: str(func(c *Config) *string { return &c.Pay.MerchantSerial })},
	{Name: "CANTEEN_WECHATPAY_KEY_FILE", Default: "", Help: "file with the merchant API private key (apiclient_key.pem, PKCS#8)",
		set: str(func(c *Config) *string { return &c.Pay.MerchantKeyFile })},
	{Name: "CANTEEN_WECHATPAY_APIV3_KEY", Default: "", Secret: true, Help: "APIv3 key (32 characters) that decrypts notifications",
		set: str(func(c *Config) *string { return &c.Pay.APIv3Key })},
	{Name: "CANTEEN_WECHATPAY_PUBLIC_KEY_ID", Default: "", Help: "WeChat Pay public key id (PUB_KEY_ID_…), public-key mode",
		set: str(func(c *Config) *string { return &c.Pay.PublicKeyID })},
	{Name: "CANTEEN_WECHATPAY_PUBLIC_KEY_FILE", Default: "", Help: "file with the WeChat Pay public key (pub_key.pem), public-key mode",
		set: str(func(c *Config) *string { return &c.Pay.PublicKeyFile })},
	{Name: "CANTEEN_WECHATPAY_PLATFORM_CERT_FILE", Default: "", Help: "file with the WeChat Pay platform certificate, platform-certificate mode",
		set: str(func(c *Config) *string { return &c.Pay.PlatformCertFile })},
	{Name: "CANTEEN_WECHATPAY_NOTIFY_URL", Default: "", Help: "https URL WeChat Pay sends notifications to (…/api/v1/payments/wechat/notify)",
		set: str(func(c *Config) *string { return &c.Pay.NotifyURL })},
	{Name: "CANTEEN_WECHATPAY_BASE_URL", Default: "https://api.mch.weixin.qq.com", Help: "WeChat Pay API base URL",
		set: urlOf("https", "http")(func(c *Config) *string { return &c.Pay.BaseURL })},
	{Name: "CANTEEN_DEV_WECHATPAY_ADDR", Default: "127.0.0.1:8092", Help: "dev only: listen address of the fake WeChat Pay",
		set: str(func(c *Config) *string { return &c.Pay.DevAddr })},
	{Name: "CANTEEN_DATA_KEY", Default: "", Secret: true,
		Help: "key sealing ID-card and phone numbers: keyid:base64(32 bytes); required by serve and work",
		set:  str(func(c *Config) *string { return &c.DataKey })},
	{Name: "CANTEEN_DATA_INDEX_KEY", Default: "", Secret: true,
		Help: "base64(32 bytes) keying the blind index that finds duplicate ID and phone numbers; never change it",
		set:  str(func(c *Config) *string { return &c.DataIndexKey })},
	{Name: "CANTEEN_DATA_OLD_KEYS", Default: "", Secret: true,
		Help: "comma-separated retired data keys (keyid:base64) that still open old data after a rotation",
		set: func(c *Config, v string) error {
			c.DataOldKeys = nil
			for _, k := range strings.Split(v, ",") {
				if k = strings.TrimSpace(k); k != "" {
					c.DataOldKeys = append(c.DataOldKeys, k)
				}
			}
			return nil
		}},
	{Name: "CANTEEN_WECHAT_READY_TEMPLATE", Default: "", Help: "subscribe-message template id of \"meal ready\" (keys character_string1 pickup number, thing2 dishes, time3 time); empty: not sent",
		set: str(func(c *Config) *string { return &c.ReadyTemplateID })},
	{Name: "CANTEEN_DEV_WECHAT_ADDR", Default: "127.0.0.1:8091", Help: "dev only: listen address of the fake WeChat server",
		set: str(func(c *Config) *string { return &c.DevHTTPAddrFake })},
}

// Load reads every variable through getenv (os.Getenv in production), applies defaults
// and validates. The error names every bad variable.
func Load(getenv func(string) string) (Config, error) {
	var c Config
	var bad []string
	for _, v := range Vars {
		val := getenv(v.Name)
		if val == "" {
			val = v.Default
		}
		if err := v.set(&c, val); err != nil {
			bad = append(bad, v.Name+": "+err.Error())
		}
	}
	if (c.WeChatAppID == "") != (c.WeChatSecret == "") {
		bad = append(bad, "CANTEEN_WECHAT_APPID and CANTEEN_WECHAT_SECRET: set both or neither")
	}
	if p := c.Pay; p.Enabled() {
		for name, v := range map[string]string{"CANTEEN_WECHATPAY_SERIAL": p.MerchantSerial, "CANTEEN_WECHATPAY_KEY_FILE": p.MerchantKeyFile,
			"CANTEEN_WECHATPAY_APIV3_KEY": p.APIv3Key, "CANTEEN_WECHATPAY_NOTIFY_URL": p.NotifyURL} {
			if v == "" {
				bad = append(bad, name+": required with CANTEEN_WECHATPAY_MCHID")
			}
		}
		if p.APIv3Key != "" && len(p.APIv3Key) != 32 {
			bad = append(bad, "CANTEEN_WECHATPAY_APIV3_KEY: must be 32 characters")
		}
		if (p.PublicKeyFile == "") == (p.PlatformCertFile == "") {
			bad = append(bad, "CANTEEN_WECHATPAY_PUBLIC_KEY_FILE or CANTEEN_WECHATPAY_PLATFORM_CERT_FILE: set exactly one")
		}
		if p.PublicKeyFile != "" && p.PublicKeyID == "" {
			bad = append(bad, "CANTEEN_WECHATPAY_PUBLIC_KEY_ID: required with CANTEEN_WECHATPAY_PUBLIC_KEY_FILE")
		}
		if u, err := url.Parse(p.NotifyURL); p.NotifyURL != "" && (err != nil || u.Scheme != "https" || u.RawQuery != "") {
			bad = append(bad, "CANTEEN_WECHATPAY_NOTIFY_URL: must be an https URL without a query string")
		}
	}
	if (c.DataKey == "") != (c.DataIndexKey == "") {
		bad = append(bad, "CANTEEN_DATA_KEY and CANTEEN_DATA_INDEX_KEY: set both or neither")
	} else if c.DataKey != "" {
		if _, err := c.Keyring(); err != nil {
			bad = append(bad, strings.TrimPrefix(err.Error(), "config: "))
		}
	}
	if len(bad) > 0 {
		return Config{}, fmt.Errorf("config: %s", strings.Join(bad, "; "))
	}
	return c, nil
}

// Lines returns "NAME=value" for every variable, secrets and URL passwords masked,
// sorted by name, for printing at start-up.
func (c Config) Lines(getenv func(string) string) []string {
	var out []string
	for _, v := range Vars {
		val := getenv(v.Name)
		if val == "" {
			val = v.Default
		}
		if v.Secret {
			val = Mask(val)
		}
		out = append(out, v.Name+"="+val)
	}
	sort.Strings(out)
	return out
}

// Mask hides a secret. URLs keep scheme, host and path but lose their password;
// other non-empty values become "****".
func Mask(v string) string {
	if v == "" {
		return ""
	}
	if u, err := url.Parse(v); err == nil && u.Scheme != "" && u.Host != "" {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "****")
		}
		return u.Redacted()
	}
	return "****"
}
