package wechat

import (
	"context"
	"fmt"
	"net/url"

	"github.com/canteen-oss/canteen/internal/apperr"
)

// Message is one subscribe message (订阅消息). ToUser is the diner's openid; TemplateID one of
// the mini-program's templates; Page the mini-program page opened from it
// ("pages/order/detail?id=42"); MiniprogramState "developer", "trial" or "formal" (empty
// means formal); Lang e.g. "zh_CN". Data maps template keys ("thing2") to values; WeChat
// limits their length by key type (thing: 20 characters).
type Message struct {
	ToUser           string
	TemplateID       string
	Page             string
	MiniprogramState string
	Lang             string
	Data             map[string]string
}

// SendSubscribe sends m. When WeChat rejects the access_token (40001/42001) it refreshes the
// token once and sends once more. Errors: Invalid (no ToUser or TemplateID);
// FailedPrecondition "wechat_no_quota" for 43101 (see IsNoQuota: do not retry);
// Transient for everything else, which a job may retry.
func (c *Client) SendSubscribe(ctx context.Context, m Message) error {
	var f apperr.Fields
	f.Check(m.ToUser != "", "to_user", "required")
	f.Check(m.TemplateID != "", "template_id", "required")
	if err := f.Err(); err != nil {
		return fmt.Errorf("wechat: subscribe send: %w", err)
	}
	type value struct {
		Value string `json:"value"`
	}
	body := struct {
		ToUser           string           `json:"touser"`
		TemplateID       string           `json:"template_id"`
		Page             string           `json:"page,omitempty"`
		MiniprogramState string           `json:"miniprogram_state,omitempty"`
		Lang             string           `json:"lang,omitempty"`
		Data             map[string]value `json:"data"`
	}{m.ToUser, m.TemplateID, m.Page, m.MiniprogramState, m.Lang, make(map[string]value, len(m.Data))}
	for k, v := range m.Data {
		body.Data[k] = value{v}
	}

	tok, err := c.token(ctx, "")
	if err != nil {
		return fmt.Errorf("wechat: subscribe send: %w", err)
	}
	err = c.sendOnce(ctx, tok, body)
	if isTokenRejected(err) {
		if tok, err = c.token(ctx, tok); err != nil {
			return fmt.Errorf("wechat: subscribe send: %w", err)
		}
		err = c.sendOnce(ctx, tok, body)
	}
	if err != nil {
		return fmt.Errorf("wechat: subscribe send: %w", err)
	}
	return nil
}

func (c *Client) sendOnce(ctx context.Context, token string, body any) error {
	req, err := c.postJSON(ctx, "/cgi-bin/message/subscribe/send", url.Values{"access_token": {token}}, body)
	if err != nil {
		return err
	}
	var out apiStatus
	return c.do(req, &out)
}
