// The diner page: pick a canteen, see menus with one's own price, order and pay.
// Every piece of data goes into the page as textContent, never as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "canteen.diner.token";
  const COMMUNITY_KEY = "canteen.diner.community";
  const STATUS = {
    pending: ["待支付", "pending"],
    paid: ["已支付", "good"],
    in_kitchen: ["制作中", "good"],
    ready: ["请取餐", "ready"],
    picked_up: ["已取餐", "ended"],
    cancelled: ["已取消", "ended"],
    expired: ["已过期", "ended"],
    refunded: ["已退款", "ended"],
  };
  const FINAL = new Set(["picked_up", "cancelled", "expired", "refunded"]);
  const ACTIVE = new Set(["pending", "paid", "in_kitchen", "ready"]);
  // The steps a paid order goes through, as the diner follows it.
  const STEPS = ["paid", "in_kitchen", "ready", "picked_up"];
  const PERIODS = { breakfast: "早餐", lunch: "午餐", dinner: "晚餐" };
  const KINDS = { dine_in: "堂食", takeaway: "打包带走", delivery: "送餐" };
  const WINDOWS = { meal: "这一餐", day: "今天", month: "本月" };
  const WEEK = ["周日", "周一", "周二", "周三", "周四", "周五", "周六"];

  const S = {
    cfg: { demo: false, wechat_login_url: "", pay_url: "" },
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    me: null,
    communities: [],
    communityID: 0,
    canteens: [],
    canteenID: 0,
    menus: [],
    menu: null, // the selected menu; the cart belongs to it
    cart: new Map(), // dish_id -> {item, qty, note}
    kind: "dine_in",
    itemQuotes: new Map(), // dish_id -> quote of one portion
    quote: null,
    quoteSeq: 0,
    placeKey: "",
    order: null,
    myOrders: [],
    pollTimer: 0,
  };

  const $ = (id) => document.getElementById(id);

  // el builds an element; children are nodes or strings (set as text).
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "class") n.className = v;
      else if (k === "text") n.textContent = v;
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      n.append(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return n;
  }

  const yuan = (fen) => "¥" + (Number(fen || 0) / 100).toFixed(2);

  function shanghaiToday() {
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(new Date());
    } catch (_) {
      return "";
    }
  }

  function dayLabel(day) {
    const [y, m, d] = day.split("-").map(Number);
    const wd = WEEK[new Date(Date.UTC(y, m - 1, d)).getUTCDay()];
    const today = shanghaiToday() === day ? "今天 " : "";
    return `${today}${m}月${d}日 ${wd}`;
  }

  const menuLabel = (m) => `${dayLabel(m.day)} ${PERIODS[m.period] || m.period}`;

  function timeLabel(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return "";
    try {
      return new Intl.DateTimeFormat("zh-CN", { timeZone: "Asia/Shanghai", hour: "2-digit", minute: "2-digit", hour12: false }).format(d);
    } catch (_) {
      return d.toTimeString().slice(0, 5);
    }
  }

  // ---------------------------------------------------------------- messages

  function showError(err) {
    const box = $("alert");
    const msg = (err && err.message) || String(err);
    box.textContent = msg;
    box.hidden = false;
    box.scrollIntoView({ block: "nearest" });
  }

  function clearError() {
    $("alert").hidden = true;
    $("alert").textContent = "";
  }

  function notify(text) {
    const n = $("notice");
    n.textContent = text;
    n.hidden = !text;
  }

  // ---------------------------------------------------------------- API

  class APIError extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || `请求失败（${status}）`);
      this.status = status;
      this.problem = problem || {};
    }
  }

  async function request(url, { method = "GET", body, headers = {}, auth = true } = {}) {
    const h = { Accept: "application/json", ...headers };
    if (body !== undefined) h["Content-Type"] = "application/json";
    if (auth && S.token) h.Authorization = "Bearer " + S.token;
    let resp;
    try {
      resp = await fetch(url, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
    } catch (_) {
      throw new APIError(0, { detail: "网络不通，请稍后再试 / network error, try again" });
    }
    const text = await resp.text();
    let data = null;
    if (text) {
      try {
        data = JSON.parse(text);
      } catch (_) {
        data = null;
      }
    }
    if (!resp.ok) {
      if (resp.status === 401 && auth && S.token && url.startsWith("/api/")) loggedOut("登录已过期，请重新登录");
      throw new APIError(resp.status, data);
    }
    return data;
  }

  const api = (path, opts) => request("/api/v1" + path, opts);

  function uuid() {
    if (window.crypto && typeof crypto.randomUUID === "function") return crypto.randomUUID();
    const b = crypto.getRandomValues(new Uint8Array(16)); // randomUUID needs a secure context
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
    return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
  }

  // ---------------------------------------------------------------- session

  function loggedOut(why) {
    S.token = "";
    S.me = null;
    sessionStorage.removeItem(TOKEN_KEY);
    S.itemQuotes.clear();
    S.quote = null;
    stopPolling();
    renderLogin();
    if (why) showError(new Error(why));
  }

  function renderLogin() {
    const inn = !!S.me;
    $("login-in").hidden = !inn;
    $("login-out").hidden = inn;
    const demoLogin = S.cfg.demo && !!S.cfg.wechat_login_url;
    $("demo-login").hidden = !demoLogin;
    if (inn) {
      const c = S.communities.find((x) => x.id === S.me.community_id);
      $("who").textContent = `已登录：${S.me.name || "居民"}${c ? "（" + c.name + "）" : ""}`;
    }
    $("community").disabled = inn;
    $("community-fixed").hidden = !inn;
    $("community-fixed").textContent = inn ? "已登录时只能在本社区点餐；要换社区请先退出登录。" : "";
    $("allowances").hidden = !inn;
    $("my-orders").hidden = !inn;
  }

  async function demoLogin(ev) {
    ev.preventDefault();
    clearError();
    const openid = $("openid").value.trim();
    if (!openid) return showError(new Error("请填写演示用户标识"));
    if (!S.communityID) return showError(new Error("请先选择社区"));
    try {
      const { code } = await request(S.cfg.wechat_login_url, { method: "POST", body: { openid }, auth: false });
      const sess = await api("/auth/diner/login", { method: "POST", body: { community_id: S.communityID, code }, auth: false });
      S.token = sess.token;
      sessionStorage.setItem(TOKEN_KEY, sess.token);
      S.me = sess.principal;
      notify("已登录。菜单上显示的是您的价格。");
      await afterLogin();
    } catch (e) {
      showError(e);
    }
  }

  async function logout() {
    clearError();
    try {
      await api("/auth/logout", { method: "POST" });
    } catch (_) {
      /* the token goes away here either way */
    }
    loggedOut("");
    S.order = null;
    S.myOrders = [];
    $("order").hidden = true;
    renderMenu();
    renderCart();
    notify("已退出登录。");
  }

  async function afterLogin() {
    renderLogin();
    await Promise.all([loadItemQuotes(), loadAllowances(), loadMyOrders()]);
    renderMenu();
    requote();
    // An order still on its way is shown at once, with its pickup number.
    const active = S.myOrders.find((o) => ACTIVE.has(o.status));
    if (!S.order && active) showOrder(active, { scroll: false });
  }

  // ---------------------------------------------------------------- community and canteen

  function fillSelect(sel, items, selected, placeholder) {
    sel.replaceChildren();
    if (items.length !== 1) sel.append(el("option", { value: "", text: placeholder }));
    for (const it of items) {
      sel.append(el("option", { value: it.id, selected: it.id === selected, text: it.name }));
    }
  }

  async function loadCommunities() {
    const { items } = await api("/communities", { auth: false });
    S.communities = items || [];
    let pick = 0;
    if (S.me) pick = S.me.community_id;
    else if (S.communities.length === 1) pick = S.communities[0].id;
    else pick = Number(sessionStorage.getItem(COMMUNITY_KEY)) || 0;
    if (!S.communities.some((c) => c.id === pick)) pick = 0;
    fillSelect($("community"), S.communities, pick, "请选择社区");
    if (S.communities.length === 0) showError(new Error("还没有开通的社区"));
    await selectCommunity(pick);
  }

  async function selectCommunity(id) {
    S.communityID = id;
    if (id) sessionStorage.setItem(COMMUNITY_KEY, String(id));
    S.canteens = [];
    S.canteenID = 0;
    S.menus = [];
    selectMenu(null);
    fillSelect($("canteen"), [], 0, id ? "正在加载…" : "请先选择社区");
    $("canteen").disabled = !id;
    if (!id) return renderMenuTabs();
    const { items } = await api(`/communities/${id}/canteens`, { auth: false });
    S.canteens = items || [];
    const pick = S.canteens.length === 1 ? S.canteens[0].id : 0;
    fillSelect($("canteen"), S.canteens, pick, S.canteens.length ? "请选择食堂" : "本社区还没有食堂");
    await selectCanteen(pick);
  }

  async function selectCanteen(id) {
    S.canteenID = id;
    S.menus = [];
    const ct = S.canteens.find((c) => c.id === id);
    const note = $("canteen-note");
    note.hidden = !ct;
    if (ct) {
      const where = [ct.district, ct.address].filter(Boolean).join(" ");
      note.textContent = ct.closed ? `暂停营业：${ct.notice || "请留意食堂通知"}` : where ? `地址：${where}` : "";
      note.hidden = !note.textContent;
    }
    if (id) {
      const { items } = await api(`/communities/${S.communityID}/canteens/${id}/menus`, { auth: false });
      S.menus = items || [];
    }
    renderMenuTabs();
    selectMenu(S.menus[0] || null);
  }

  // ---------------------------------------------------------------- menus

  function renderMenuTabs() {
    const tabs = $("menu-tabs");
    tabs.replaceChildren();
    for (const m of S.menus) {
      const on = S.menu && S.menu.id === m.id;
      tabs.append(el("button", { type: "button", "aria-pressed": on ? "true" : "false", "data-menu": `${m.day}/${m.period}`, onclick: () => selectMenu(m) },
        (on ? "✓ " : "") + menuLabel(m)));
    }
    const note = $("menu-note");
    if (!S.canteenID) {
      note.textContent = "选好食堂后，这里显示今天和之后几天的菜单。";
    } else if (S.menus.length === 0) {
      note.textContent = "这几天还没有发布菜单。";
    } else {
      note.textContent = "";
    }
    note.hidden = !note.textContent;
  }

  function selectMenu(m) {
    if (S.menu && m && S.menu.id === m.id) return;
    if (S.cart.size > 0 && m && S.menu && S.menu.id !== m.id) notify(`已换到 ${menuLabel(m)} 的菜单，购物车已清空。`);
    S.menu = m;
    S.cart.clear();
    S.placeKey = "";
    S.itemQuotes.clear();
    S.quote = null;
    renderMenuTabs();
    renderMenu();
    renderCart();
    if (S.me && m) {
      loadItemQuotes().then(renderMenu);
      loadAllowances();
    }
  }

  // loadItemQuotes prices one portion of each dish of the menu for the diner.
  async function loadItemQuotes() {
    const m = S.menu;
    if (!S.me || !m) return;
    const note = $("menu-note");
    let problem = "";
    await Promise.all(m.items.slice(0, 40).map(async (it) => {
      try {
        const q = await api("/quotes", { method: "POST", body: { canteen_id: m.canteen_id, day: m.day, period: m.period, kind: S.kind, lines: [{ dish_id: it.dish_id, qty: 1 }] } });
        if (S.menu === m) S.itemQuotes.set(it.dish_id, q);
      } catch (e) {
        problem = problem || e.message;
      }
    }));
    if (S.menu === m && problem) {
      note.textContent = `暂时算不出您的价格：${problem}`;
      note.hidden = false;
    }
  }

  function partsList(parts) {
    if (!parts || parts.length === 0) return null;
    return el("ul", { class: "parts" }, ...parts.map((p) => el("li", { text: `${p.label} 替您付 ${yuan(p.fen)}` })));
  }

  function reasonList(reasons) {
    const seen = new Set();
    const out = [];
    for (const r of reasons || []) {
      if (seen.has(r.detail)) continue;
      seen.add(r.detail);
      out.push(el("p", { class: "reason", text: r.detail || r.code }));
    }
    return out;
  }

  function renderMenu() {
    const list = $("items");
    list.replaceChildren();
    const m = S.menu;
    if (!m) return;
    if (m.items.length === 0) list.append(el("li", { text: "这一餐没有菜品。" }));
    for (const it of m.items) {
      const line = S.cart.get(it.dish_id);
      const qty = line ? line.qty : 0;
      const soldOut = it.remaining <= 0;
      const q = S.itemQuotes.get(it.dish_id);
      const ql = q && q.lines && q.lines[0];
      const mine = [];
      if (ql) {
        mine.push(el("p", { class: "price-mine" }, "您付 ", el("strong", { text: yuan(ql.pay_fen) })));
        const pl = partsList(ql.parts);
        if (pl) mine.push(el("p", { class: "meta", text: "公益补贴：" }), pl);
        if (!ql.subsidy_fen) mine.push(...reasonList([...(ql.reasons || []), ...(q.reasons || [])]));
      } else if (!S.me) {
        mine.push(el("p", { class: "meta", text: "登录后显示您的优惠价" }));
      }
      const tags = [it.category, ...(it.diet_tags || [])].filter(Boolean).join(" · ");
      list.append(el("li", { "data-dish": it.dish_id },
        el("h3", { class: "dish", text: it.name }),
        tags ? el("p", { class: "meta", text: tags }) : null,
        el("p", { class: "price-std", text: `标准价 ${yuan(it.price_fen)}` }),
        ...mine,
        soldOut ? el("p", { class: "soldout", text: "✕ 已售完" }) : el("p", { class: "meta", text: `还剩 ${it.remaining} 份` }),
        stepper(it, qty, soldOut)));
    }
  }

  function stepper(it, qty, soldOut) {
    return el("div", { class: "stepper" },
      el("button", { type: "button", "aria-label": `${it.name} 减一份`, disabled: qty <= 0, onclick: () => changeQty(it, -1) }, "−"),
      el("span", { class: "qty", "aria-live": "polite", text: `${qty} 份` }),
      el("button", { type: "button", "aria-label": `${it.name} 加一份`, disabled: soldOut || qty >= Math.min(20, it.remaining), onclick: () => changeQty(it, 1) }, "＋"));
  }

  function changeQty(it, d) {
    clearError();
    const line = S.cart.get(it.dish_id) || { item: it, qty: 0, note: "" };
    line.qty = Math.max(0, Math.min(20, line.qty + d));
    if (line.qty === 0) S.cart.delete(it.dish_id);
    else S.cart.set(it.dish_id, line);
    S.placeKey = "";
    renderMenu();
    renderCart();
    requote();
  }

  // ---------------------------------------------------------------- cart and quote

  function cartBody() {
    const m = S.menu;
    return {
      canteen_id: m.canteen_id,
      day: m.day,
      period: m.period,
      kind: S.kind,
      lines: [...S.cart.values()].map((l) => {
        const line = { dish_id: l.item.dish_id, qty: l.qty };
        const note = (l.note || "").trim();
        if (note) line.note = note;
        return line;
      }),
    };
  }

  function renderCart() {
    const list = $("cart-lines");
    list.replaceChildren();
    $("cart-empty").hidden = S.cart.size > 0;
    for (const l of S.cart.values()) {
      const id = `note-${l.item.dish_id}`;
      const note = el("input", { id, type: "text", maxlength: 100, value: l.note, placeholder: "如：少盐、要软烂",
        oninput: (ev) => { l.note = ev.target.value; S.placeKey = ""; } });
      list.append(el("li", {},
        el("h3", { class: "dish", text: l.item.name }),
        el("p", { class: "meta", text: `标准价 ${yuan(l.item.price_fen)} × ${l.qty}` }),
        stepper(l.item, l.qty, l.item.remaining <= 0),
        el("label", { class: "field", for: id }, "备注（可不填）", note)));
    }
    renderQuote();
  }

  function renderQuote() {
    const box = $("quote");
    box.replaceChildren();
    const btn = $("place-order");
    if (S.cart.size === 0) {
      btn.disabled = true;
      return;
    }
    if (!S.me) {
      const std = [...S.cart.values()].reduce((s, l) => s + l.item.price_fen * l.qty, 0);
      box.append(el("p", { class: "total", text: `标准价合计 ${yuan(std)}` }),
        el("p", { class: "muted", text: "登录后才能看到您的优惠价并下单。" }));
      btn.disabled = true;
      return;
    }
    const q = S.quote;
    if (!q) {
      box.append(el("p", { class: "muted", text: "正在计算您的价格…" }));
      btn.disabled = true;
      return;
    }
    const parts = new Map();
    for (const l of q.lines || []) for (const p of l.parts || []) parts.set(p.label, (parts.get(p.label) || 0) + p.fen);
    const dl = el("dl", {},
      el("dt", { text: "标准价合计" }), el("dd", { text: yuan(q.standard_fen) }),
      el("dt", { text: "公益补贴" }), el("dd", { text: yuan(q.subsidy_fen) }));
    for (const [label, fen] of parts) dl.append(el("dt", { text: `　其中 ${label}` }), el("dd", { text: yuan(fen) }));
    // Why a price did not apply matters only where no subsidy did.
    const reasons = [];
    for (const l of q.lines || []) if (!l.subsidy_fen) reasons.push(...(l.reasons || []));
    if (!q.subsidy_fen) reasons.push(...(q.reasons || []));
    box.append(dl, el("p", { class: "pay" }, `您需支付 ${yuan(q.pay_fen)}`), ...reasonList(reasons));
    btn.disabled = false;
  }

  let quoteTimer = 0;
  function requote() {
    clearTimeout(quoteTimer);
    S.quote = null;
    renderQuote();
    if (!S.me || S.cart.size === 0 || !S.menu) return;
    const seq = ++S.quoteSeq;
    quoteTimer = setTimeout(async () => {
      try {
        const q = await api("/quotes", { method: "POST", body: cartBody() });
        if (seq === S.quoteSeq) {
          S.quote = q;
          renderQuote();
        }
      } catch (e) {
        if (seq === S.quoteSeq) showError(e);
      }
    }, 250);
  }

  // askSubscribe asks, as WeChat's subscribe prompt does at checkout, whether the diner
  // wants the one "meal ready" message for this order; it resolves true for 允许.
  function askSubscribe() {
    const d = $("subscribe");
    if (typeof d.showModal !== "function") return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (yes) => {
        $("sub-allow").onclick = $("sub-deny").onclick = d.oncancel = null;
        if (d.open) d.close();
        resolve(yes);
      };
      $("sub-allow").onclick = () => done(true);
      $("sub-deny").onclick = () => done(false);
      d.oncancel = (ev) => { ev.preventDefault(); done(false); };
      d.showModal();
      $("sub-allow").focus();
    });
  }

  async function placeOrder() {
    clearError();
    if (!S.me || !S.menu || S.cart.size === 0) return;
    const btn = $("place-order");
    btn.disabled = true;
    const body = cartBody();
    if (S.quote) body.expect_pay_fen = S.quote.pay_fen;
    body.notify_ready = await askSubscribe();
    if (!S.placeKey) S.placeKey = uuid(); // kept for a retry after a network error only
    try {
      const o = await api("/orders", { method: "POST", body, headers: { "Idempotency-Key": S.placeKey } });
      S.placeKey = "";
      S.cart.clear();
      S.quote = null;
      renderCart();
      notify(`已下单，订单号 ${o.id}。`);
      showOrder(o);
      loadItemQuotes().then(renderMenu);
      loadAllowances();
      loadMyOrders();
    } catch (e) {
      if (e.status !== 0) S.placeKey = "";
      if (e.problem && e.problem.quote) {
        S.quote = e.problem.quote; // the new price: the diner confirms by ordering again
        renderQuote();
      }
      showError(e);
      btn.disabled = S.cart.size === 0;
    }
  }

  // ---------------------------------------------------------------- orders

  function statusBadge(status) {
    const [text, cls] = STATUS[status] || [status, "ended"];
    const mark = cls === "pending" ? "● " : cls === "good" ? "✓ " : cls === "ready" ? "★ " : "■ ";
    return el("span", { class: `status ${cls}`, "data-status": status, text: mark + text });
  }

  function pickupOf(o) {
    const v = o.pickup_no ?? o.pickup_number ?? o.pickup_code ?? o.pickup;
    return v === undefined || v === null || v === "" ? "" : String(v);
  }

  function showOrder(o, { scroll = true } = {}) {
    S.order = o;
    $("order").hidden = false;
    $("pay-info").hidden = true;
    $("pay-info").replaceChildren();
    renderOrder();
    startPolling();
    if (scroll) $("order").scrollIntoView({ block: "start" });
    markCurrent();
  }

  // stepLabel names a step of an order the way its diner collects it.
  function stepLabel(o, st) {
    if (o.kind === "delivery") return { ready: "待送出", picked_up: "已送达" }[st] || STATUS[st][0];
    return STATUS[st][0];
  }

  // pickupBox shows the pickup number very large once the kitchen has a ticket.
  function pickupBox(o, pickup) {
    if (!pickup) return null;
    const ready = o.status === "ready";
    const say = o.kind === "delivery"
      ? { in_kitchen: "正在制作", ready: "饭做好了，马上送出", picked_up: "已送达" }[o.status] || "已收到，请稍候"
      : { in_kitchen: "正在制作，请稍候", ready: "饭做好了，请到窗口取餐", picked_up: "已取餐，祝您用餐愉快" }[o.status] || "已收到，请稍候";
    return el("div", { class: `pickup-box ${ready ? "is-ready" : ""}`, "data-status": o.status },
      el("p", { class: "pickup-label", text: o.kind === "delivery" ? "送餐单号" : "取餐号" }),
      el("p", { class: "pickup-no", id: "pickup-no", text: pickup }),
      el("p", { class: "pickup-say", text: say }));
  }

  // steps shows 已支付 → 制作中 → 请取餐 → 已取餐 with where the order is now.
  function steps(o) {
    const at = STEPS.indexOf(o.status);
    if (at < 0) return null;
    return el("ol", { class: "steps", "aria-label": "订单进度" }, ...STEPS.map((st, i) => {
      const state = i < at ? "done" : i === at ? "current" : "todo";
      return el("li", { class: state, "aria-current": i === at ? "step" : null },
        (state === "done" ? "✓ " : state === "current" ? "● " : "") + stepLabel(o, st));
    }));
  }

  function renderOrder() {
    const o = S.order;
    const card = $("order-card");
    card.replaceChildren();
    if (!o) return;
    const pickup = pickupOf(o);
    const parts = [
      el("h3", {}, `订单号 ${o.id}`),
      el("p", {}, "状态：", statusBadge(o.status)),
      pickupBox(o, pickup),
      steps(o),
      o.status === "paid" && !pickup ? el("p", { class: "meta", text: "已支付，正在把订单送到后厨，取餐号马上出来。" }) : null,
      el("p", { class: "meta", text: `${dayLabel(o.day)} ${PERIODS[o.period] || o.period} · ${KINDS[o.kind] || o.kind}` }),
      el("ul", { class: "plain" }, ...(o.lines || []).map((l) => el("li", {},
        `${l.name} × ${l.qty}　${yuan(l.pay_fen)}`,
        l.note ? el("span", { class: "meta", text: `（备注：${l.note}）` }) : null,
        partsList(l.parts)))),
      el("p", { text: `标准价 ${yuan(o.standard_fen)}，公益补贴 ${yuan(o.subsidy_fen)}` }),
      el("p", { class: "price-mine", text: `${o.status === "pending" ? "需支付" : "实付"} ${yuan(o.pay_fen)}` }),
      o.refunded_fen > 0 ? el("p", { text: `已退款 ${yuan(o.refunded_fen)}` }) : null,
      o.status === "pending" && o.pay_deadline ? el("p", { class: "meta", text: `请在 ${timeLabel(o.pay_deadline)} 前支付，超时订单会自动取消。` }) : null,
      o.cancel_reason ? el("p", { class: "meta", text: `取消原因：${o.cancel_reason}` }) : null];
    card.append(...parts.filter(Boolean));
    const actions = el("div", { class: "actions" });
    if (o.status === "pending" && o.payment === "wechat" && o.pay_fen > 0) {
      actions.append(el("button", { type: "button", class: "primary", id: "pay", onclick: payOrder }, "支付"));
    }
    if (o.status === "pending") {
      actions.append(el("button", { type: "button", class: "secondary", onclick: cancelOrder }, "取消订单"));
    }
    if (actions.childElementCount) card.append(actions);
  }

  async function payOrder() {
    clearError();
    const o = S.order;
    const info = $("pay-info");
    try {
      const p = await api(`/orders/${o.id}/pay`, { method: "POST" });
      info.replaceChildren(
        el("p", { text: "在微信小程序中，这一步会拉起微信支付，您确认后即付款。" }),
        el("p", { class: "meta", text: `支付单：${p.package}` }));
      if (S.cfg.pay_url) {
        const prepay = String(p.package || "").replace(/^prepay_id=/, "");
        info.append(
          el("p", { class: "tag", text: "演示支付（模拟微信支付，不会真的扣款）" }),
          el("button", { type: "button", class: "primary", id: "demo-pay", onclick: async () => {
            clearError();
            try {
              const r = await fetch(S.cfg.pay_url, { method: "POST", headers: { "Content-Type": "application/json" },
                body: JSON.stringify({ prepay_id: prepay }) });
              if (!r.ok) throw new Error("演示支付失败 / the demo payment failed (" + r.status + ")");
            } catch (e) {
              showError(e);
            }
          } }, "演示支付 ¥" + (o.pay_fen / 100).toFixed(2)),
          el("p", { text: "付款后这里会自动变成“已支付”。" }));
      } else {
        info.append(el("p", { text: "网页里不能微信支付，请在微信小程序“长者食堂”中打开这笔订单付款；付款后这里会自动更新。" }));
      }
      info.hidden = false;
      startPolling();
    } catch (e) {
      showError(e);
    }
  }

  async function cancelOrder() {
    clearError();
    try {
      const o = await api(`/orders/${S.order.id}/cancel`, { method: "POST", body: { reason: "居民自己取消" } });
      S.order = o;
      $("pay-info").hidden = true;
      renderOrder();
      notify(`订单 ${o.id} 已取消。`);
      loadItemQuotes().then(renderMenu);
      loadAllowances();
      loadMyOrders();
    } catch (e) {
      showError(e);
    }
  }

  function stopPolling() {
    clearInterval(S.pollTimer);
    S.pollTimer = 0;
  }

  function startPolling() {
    stopPolling();
    if (!S.order || FINAL.has(S.order.status)) return;
    S.pollTimer = setInterval(pollOrder, 2000);
  }

  async function pollOrder() {
    const cur = S.order;
    if (!cur || !S.me || document.hidden) return;
    try {
      const o = await api(`/orders/${cur.id}`);
      if (S.order !== cur) return;
      const changed = o.status !== cur.status || o.paid_at !== cur.paid_at || pickupOf(o) !== pickupOf(cur) || o.refunded_fen !== cur.refunded_fen;
      S.order = o;
      if (changed) {
        renderOrder();
        if (o.status !== "pending") $("pay-info").hidden = true;
        const pickup = pickupOf(o);
        if (o.status === "ready" && cur.status !== "ready") {
          notify(`${pickup ? "取餐号 " + pickup + "：" : ""}饭做好了，请到窗口取餐。`);
          if (navigator.vibrate) navigator.vibrate([200, 100, 200]);
        } else {
          notify(`订单 ${o.id}：${STATUS[o.status] ? stepLabel(o, o.status) : o.status}${pickup ? "，取餐号 " + pickup : ""}`);
        }
        loadMyOrders();
      }
      if (FINAL.has(o.status)) stopPolling();
    } catch (e) {
      showError(e);
    }
  }

  async function loadMyOrders() {
    if (!S.me) return;
    try {
      const { items } = await api("/orders?limit=20");
      S.myOrders = items || [];
      const list = $("my-list");
      list.replaceChildren();
      $("my-empty").hidden = (items || []).length > 0;
      for (const o of items || []) {
        const names = (o.lines || []).map((l) => `${l.name}×${l.qty}`).join("、");
        const pickup = pickupOf(o);
        list.append(el("li", {}, el("button", { type: "button", "data-order": o.id, onclick: () => showOrder(o) },
          `订单 ${o.id}　`, statusBadge(o.status),
          pickup ? el("span", { class: "list-pickup", text: `取餐号 ${pickup}` }) : null,
          el("span", { class: "line2", text: `${dayLabel(o.day)} ${PERIODS[o.period] || o.period} · ${names} · ${yuan(o.pay_fen)}` }))));
      }
      markCurrent();
    } catch (e) {
      showError(e);
    }
  }

  function markCurrent() {
    for (const b of document.querySelectorAll("#my-list button")) {
      b.setAttribute("aria-current", S.order && Number(b.dataset.order) === S.order.id ? "true" : "false");
    }
  }

  async function loadAllowances() {
    if (!S.me) return;
    const m = S.menu;
    const q = m ? `?day=${encodeURIComponent(m.day)}&period=${encodeURIComponent(m.period)}` : "?period=lunch";
    try {
      const { items } = await api("/me/allowances" + q);
      const list = $("allow-list");
      list.replaceChildren();
      if (!items || items.length === 0) {
        list.append(el("li", { text: "您的优惠没有次数限制。" }));
        return;
      }
      for (const a of items) {
        const win = WINDOWS[a.window] || a.window;
        const bits = [];
        if (a.limit_count != null) bits.push(`${win}还剩 ${a.remaining_count ?? 0} 次（共 ${a.limit_count} 次，已用 ${a.used_count} 次）`);
        if (a.limit_fen != null) bits.push(`${win}还剩 ${yuan(a.remaining_fen)}（共 ${yuan(a.limit_fen)}）`);
        list.append(el("li", { text: `${a.policy_name}：${bits.join("；")}` }));
      }
    } catch (e) {
      showError(e);
    }
  }

  // ---------------------------------------------------------------- start

  async function start() {
    $("community").addEventListener("change", (ev) => { clearError(); selectCommunity(Number(ev.target.value) || 0).catch(showError); });
    $("canteen").addEventListener("change", (ev) => { clearError(); selectCanteen(Number(ev.target.value) || 0).catch(showError); });
    $("demo-login").addEventListener("submit", demoLogin);
    $("logout").addEventListener("click", logout);
    $("place-order").addEventListener("click", placeOrder);
    for (const r of document.querySelectorAll("input[name=kind]")) {
      r.addEventListener("change", () => {
        S.kind = r.value;
        S.placeKey = "";
        requote();
      });
    }
    try {
      S.cfg = await request("/m/config.json", { auth: false });
    } catch (_) {
      /* not demo */
    }
    $("demo-banner").hidden = !S.cfg.demo;
    if (S.token) {
      try {
        const me = await api("/me");
        if (me.kind === "diner") S.me = me;
        else loggedOut("这个页面只给居民使用，请用居民账号登录");
      } catch (_) {
        /* loggedOut already ran on 401 */
      }
    }
    renderLogin();
    try {
      await loadCommunities();
    } catch (e) {
      showError(e);
    }
    renderLogin();
    if (S.me) await afterLogin();
  }

  start();
})();
