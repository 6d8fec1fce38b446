package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"github.com/canteen-oss/canteen/internal/demo"
	"github.com/canteen-oss/canteen/internal/postgres"
	"github.com/canteen-oss/canteen/internal/secure"
	"github.com/canteen-oss/canteen/internal/wechat/wechatfake"
)

// Demo WeChat app credentials, known only to the local fake.
const (
	demoAppID  = "wxdemo00000000000"
	demoSecret = "demo-secret-not-real"
)

// newDevWeChat makes the local fake WeChat that dev starts. The end-to-end browser test
// replaces it to read the subscribe messages the fake received.
var newDevWeChat = func() *wechatfake.Server { return wechatfake.New(demoAppID, demoSecret) }

// dev runs everything in one process on the demo community. Without WeChat
// credentials it starts the local fake WeChat; without data keys it uses the demo keyring.
func dev(ctx context.Context, getenv func(string) string, stdout, stderr io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	keys, err := cfg.Keyring()
	if err != nil {
		log.Warn("no data keys configured: using the public DEMO keyring; never use dev data in production")
		keys = secure.DemoKeyring()
	}
	fakeURL := ""
	var fake *wechatfake.Server
	if cfg.WeChatAppID == "" {
		fake = newDevWeChat()
		ln, err := net.Listen("tcp", cfg.DevHTTPAddrFake)
		if err != nil {
			return fmt.Errorf("fake WeChat: listen on CANTEEN_DEV_WECHAT_ADDR %s: %w", cfg.DevHTTPAddrFake, err)
		}
		_ = ln.Close()
		go func() {
			if err := fake.ListenAndServe(ctx, cfg.DevHTTPAddrFake); err != nil && !errors.Is(err, context.Canceled) {
				log.Error("fake WeChat stopped", "err", err.Error())
			}
		}()
		fakeURL = "http://" + cfg.DevHTTPAddrFake
		cfg.WeChatBaseURL, cfg.WeChatAppID, cfg.WeChatSecret = fakeURL, demoAppID, demoSecret
		if cfg.ReadyTemplateID == "" {
			cfg.ReadyTemplateID = "demo-meal-ready"
		}
	}
	printConfig(log, cfg, getenv)

	if err := postgres.EnsureDatabase(ctx, cfg.DatabaseURL); err != nil {
		return err
	}
	sys, err := open(ctx, cfg, keys, log)
	if err != nil {
		return err
	}
	defer sys.close()
	payURL := ""
	if cfg.Pay.Enabled() {
		err = sys.realPayments(cfg)
	} else {
		payURL, err = sys.fakePayments(ctx, cfg)
	}
	if err != nil {
		return err
	}
	sys.demoWeChatURL, sys.demoPayURL = fakeURL, payURL
	m, err := postgres.NewMigrator(sys.db)
	if err != nil {
		return err
	}
	applied, err := m.Up(ctx)
	if err != nil {
		return err
	}
	log.Info("migrations applied", "count", len(applied))
	services := demo.Services{Community: sys.community, Auth: sys.auth, Catalog: sys.catalog,
		Eligibility: sys.elig, Funding: sys.funding}
	if fake != nil {
		// The demo elder logs in through the fake WeChat like any diner.
		services.NewDiner = func(ctx context.Context, communityID int64, openID string) (int64, error) {
			sess, err := sys.auth.DinerLogin(ctx, communityID, fake.IssueCode(openID))
			return sess.Principal.ID, err
		}
	}
	seeded, err := demo.Seed(ctx, services, time.Now())
	if err != nil {
		return err
	}
	log.Info("demo community ready", "community_id", seeded.CommunityID, "created", seeded.Created, "menus_published", seeded.Menus)
	printerAddr, err := demoPrinter(ctx, sys, seeded)
	if err != nil {
		return err
	}
	log.Info("demo printer ready: the demo canteen's tickets print to this log", "address", printerAddr)

	workerDone := make(chan error, 1)
	go func() {
		workerDone <- sys.runWorker(ctx)
	}()
	banner(stdout, cfg.PublicURL, fakeURL, payURL, seeded)
	httpErr := serveHTTP(ctx, sys, true, stdout)
	werr := <-workerDone
	return errors.Join(httpErr, werr)
}

func banner(w io.Writer, base, fakeURL, payURL string, r demo.Result) {
	base = strings.TrimRight(base, "/")
	var b strings.Builder
	fmt.Fprintf(&b, "\n  canteen is running with the DEMO community (演示社区)\n\n")
	fmt.Fprintf(&b, "  Diner page      %s/m/   (demo login as openid %q; demo payment)\n", base, demo.ElderOpenID)
	fmt.Fprintf(&b, "  Kitchen screen  %s/kitchen/   (log in as demo-kitchen)\n", base)
	fmt.Fprintf(&b, "  Pickup board    %s/pickup/?community=%d&canteen=%d\n", base, r.CommunityID, r.CanteenID)
	fmt.Fprintf(&b, "  Month end       %s/finance/   (log in as demo-finance, or demo-merchant to sign off)\n", base)
	fmt.Fprintf(&b, "  API docs        %s/docs\n", base)
	fmt.Fprintf(&b, "  OpenAPI         %s/openapi.yaml\n", base)
	fmt.Fprintf(&b, "  Today's menus   %s/api/v1/communities/%d/canteens/%d/menus\n", base, r.CommunityID, r.CanteenID)
	fmt.Fprintf(&b, "  Health          %s/healthz   %s/readyz\n", base, base)
	fmt.Fprintf(&b, "  Metrics         %s/metrics\n", base)
	fmt.Fprintf(&b, "  Task queues     %s/admin/asynq   (log in as demo-admin)\n", base)
	if fakeURL != "" {
		fmt.Fprintf(&b, "  Fake WeChat     %s   (demo only: POST /fake/login-code {\"openid\":\"...\"} gives a wx.login code)\n", fakeURL)
		fmt.Fprintf(&b, "  Demo elder      openid %q: an approved 82-year-old who sees the 3元 set meal\n", demo.ElderOpenID)
	}
	if payURL != "" {
		fmt.Fprintf(&b, "  Fake WeChat Pay %s   (demo only: POST /fake/pay {\"out_trade_no\":\"...\"} pays an order and notifies us)\n", payURL)
	}
	fmt.Fprintf(&b, "\n  Staff logins (password %q), POST %s/api/v1/auth/staff/login:\n", demo.Password, base)
	for _, l := range demo.Logins {
		fmt.Fprintf(&b, "    %-15s %s\n", l.Username, l.Note)
	}
	fmt.Fprintf(&b, "\n  Stop with Ctrl-C.\n\n")
	_, _ = io.WriteString(w, b.String())
}
