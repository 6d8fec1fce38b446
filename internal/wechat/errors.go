package wechat

import (
	"errors"
	"fmt"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Error is an errcode answer from WeChat (HTTP 200 with a non-zero errcode). It is always
// returned as the cause of an *apperr.Error; use errors.As to reach it.
type Error struct {
	Code int    // WeChat's errcode, e.g. 40163
	Msg  string // WeChat's errmsg, for logs only
}

func (e *Error) Error() string { return fmt.Sprintf("wechat errcode %d: %s", e.Code, e.Msg) }

// The errcodes the client treats specially.
const (
	codeBusy           = -1    // system busy; retry
	codeInvalidToken   = 40001 // access_token invalid
	codeInvalidCode    = 40029 // js_code invalid or expired
	codeCodeUsed       = 40163 // js_code already used
	codeUserBlocked    = 40226 // high-risk user blocked by WeChat
	codeTokenExpired   = 42001 // access_token expired
	codeNoQuota        = 43101 // user refused the subscription or its one send is spent
	codeLoginRateLimit = 45011 // login rate limit (per user)
)

// classify wraps e in the apperr kind a caller can act on:
// 40029/40163 → Unauthenticated "wechat_code_invalid"; 45011 → TooManyRequests;
// 40226 → Forbidden; 43101 → FailedPrecondition "wechat_no_quota"; 40013/40125 (bad
// app credentials) → Internal; 40003/40037/41030/47003 (bad message) → Invalid;
// everything else, including -1, → Transient.
func classify(e *Error) *apperr.Error {
	switch e.Code {
	case codeInvalidCode, codeCodeUsed:
		return apperr.Wrap(e, apperr.Unauthenticated, "wechat_code_invalid",
			"登录凭证无效或已使用，请重新登录 / login code invalid or already used, log in again")
	case codeLoginRateLimit:
		return apperr.Wrap(e, apperr.TooManyRequests, "wechat_rate_limited",
			"登录太频繁，请稍后再试 / too many logins, try again later")
	case codeUserBlocked:
		return apperr.Wrap(e, apperr.Forbidden, "wechat_user_blocked",
			"微信已限制该账号 / WeChat has blocked this account")
	case codeNoQuota:
		return apperr.Wrap(e, apperr.FailedPrecondition, "wechat_no_quota",
			"用户未订阅或订阅次数已用完 / the user has no subscription left for this message")
	case 40013, 40125: // invalid appid / secret: our configuration, retrying cannot help
		return apperr.Wrap(e, apperr.Internal, "wechat_misconfigured", "WeChat rejected the app id or secret")
	case 40003, 40037, 41030, 47003: // bad openid, template, page or message data
		return apperr.Wrap(e, apperr.Invalid, "wechat_rejected", "WeChat rejected the message: "+e.Msg)
	case codeBusy:
		return apperr.Wrap(e, apperr.Transient, "wechat_busy", detailUnavailable)
	default:
		return apperr.Wrap(e, apperr.Transient, "wechat_error", detailUnavailable)
	}
}

// IsNoQuota reports whether err is WeChat's 43101: the user refused the subscribe message
// or has no one-time subscription left. Sending again will not help, so callers must not retry.
func IsNoQuota(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == codeNoQuota
}

// isTokenRejected reports whether err is WeChat rejecting the access_token (40001/42001).
func isTokenRejected(err error) bool {
	var e *Error
	return errors.As(err, &e) && (e.Code == codeInvalidToken || e.Code == codeTokenExpired)
}
