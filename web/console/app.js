// The month-end console (月结台). Staff log in with their username and password; what the
// page offers follows the roles /api/v1/me reports:
//   - finance and admins pick a month: an open month shows the preview of its statements
//     and the checks' findings, and finance may close it (overriding findings only with a
//     reason); a closed month shows its statements with the merchants' sign-off and the
//     exports. Both show the month's WeChat Pay reconciliation (finance notes a finding or
//     re-runs a day) and the attempts to close it.
//   - a partner merchant's user sees its own statements, confirms or disputes each, and
//     downloads them.
// Every figure and every rule comes from the API; the page only shows them. Amounts are
// integer fen, turned into ¥ text by string arithmetic. Data goes in as textContent only.
"use strict";

(() => {
  const TOKEN_KEY = "canteen.console.token";
  const $ = (id) => document.getElementById(id);

  const S = {
    token: sessionStorage.getItem(TOKEN_KEY) || "",
    me: null,
    finance: false, // may close, note and re-run
    staffView: false, // finance or admin
    merchant: false,
    month: "",
    load: 0, // the month view being loaded; older answers are dropped
    showMatched: false,
    recon: null,
  };

  // ---- formatting -----------------------------------------------------------------------

  // yuan writes integer fen as "¥1,234.56" (negative "-¥0.05") by moving the decimal point
  // in the digits: no floating-point division. Anything but a safe integer shows "—".
  function yuan(fen) {
    if (typeof fen !== "number" || !Number.isSafeInteger(fen)) return "—";
    const neg = fen < 0;
    const digits = String(neg ? -fen : fen).padStart(3, "0");
    const whole = digits.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return (neg ? "-" : "") + "¥" + whole + "." + digits.slice(-2);
  }

  const shanghai = (() => {
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai", year: "numeric", month: "2-digit", day: "2-digit",
        hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
    } catch (_) { return null; }
  })();
  // parts returns the Asia/Shanghai year, month, day, hour and minute of d as strings.
  function parts(d) {
    if (shanghai) {
      const p = {};
      for (const x of shanghai.formatToParts(d)) p[x.type] = x.value;
      return p;
    }
    const s = new Date(d.getTime() + 8 * 3600000).toISOString();
    return { year: s.slice(0, 4), month: s.slice(5, 7), day: s.slice(8, 10), hour: s.slice(11, 13), minute: s.slice(14, 16) };
  }
  // when writes an instant as "2026-11-25 11:30" in Asia/Shanghai; "" for none.
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return String(iso);
    const p = parts(d);
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
  }
  function thisMonth() {
    const p = parts(new Date());
    return `${p.year}-${p.month}`;
  }
  function addMonths(m, n) {
    const [y, mo] = m.split("-").map(Number);
    const k = y * 12 + (mo - 1) + n;
    return `${Math.floor(k / 12)}-${String((k % 12) + 1).padStart(2, "0")}`;
  }
  const validMonth = (m) => /^\d{4}-(0[1-9]|1[0-2])$/.test(m || "");

  const KIND = { sponsor: "资助方", operator: "食堂运营方" };
  const STATUS = { issued: "待确认", confirmed: "已确认", disputed: "有异议" };
  const SIGNOFF = { issued: "出具结算单", confirmed: "确认无误", disputed: "提出异议" };
  const OUTCOME = { matched: "已匹配", missing_ours: "我方无记录", missing_wechat: "微信账单无记录", amount_mismatch: "金额不一致" };
  const TRIGGER = { scheduled: "自动（每月 1 日）", manual: "手动" };
  const ATTEMPT = { closed: "已结账", blocked: "检查未通过，未结账" };
  const ORDER_STATUS = { pending: "待支付", paid: "已支付", preparing: "制作中", ready: "待取餐", picked_up: "已取餐",
    cancelled: "已取消", expired: "已过期", refunded: "已退款", out_for_delivery: "配送中", delivered: "已送达" };
  // The figures a check compares; names ending in fen are money.
  const AMOUNT = {
    our_fen: "我方金额", bill_fen: "微信账单金额", payment_fen: "支付金额", credited_fen: "已入账金额", order_pay_fen: "订单应付",
    subsidy_fen: "订单补贴", parts_fen: "补贴分项合计", ledger_committed_fen: "账本已支出", ledger_reversed_fen: "账本已冲回",
    expected_committed_fen: "应支出", expected_reversed_fen: "应冲回", limit_fen: "限额金额", fen: "已用金额",
    units: "已用份数", limit_count: "限额份数", meals: "补贴餐数", eligible_diners: "符合资格人数",
  };
  // The columns of a statement's totals, in table order.
  const TOTALS = [
    ["meals", "餐数", false], ["subsidy_fen", "补贴", true], ["reversal_fen", "冲正", true], ["payment_fen", "微信收款", true],
    ["cash_fen", "现金", true], ["refund_fen", "退款", true], ["adjustment_fen", "调整", true], ["total_fen", "合计", true],
  ];

  // ---- DOM helpers ----------------------------------------------------------------------

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function cell(label, content, cls) {
    const td = el("td", cls);
    td.dataset.label = label;
    if (content instanceof Node) td.append(content);
    else if (content !== undefined && content !== null) td.textContent = String(content);
    if (content === "") td.classList.add("empty-cell");
    return td;
  }
  function money(label, fen, cls) {
    const td = cell(label, yuan(fen), "num" + (cls ? " " + cls : ""));
    if (fen < 0) td.classList.add("neg");
    return td;
  }
  let alertTimer = 0;
  function showAlert(msg, ok) {
    const a = $("alert");
    a.textContent = msg;
    a.className = ok ? "alert ok" : "alert";
    a.hidden = false;
    clearTimeout(alertTimer);
    if (ok) alertTimer = setTimeout(() => { a.hidden = true; }, 8000);
  }
  function hideAlert() {
    clearTimeout(alertTimer);
    $("alert").hidden = true;
  }
  function showError(id, msg) {
    const p = $(id);
    p.textContent = msg;
    p.hidden = !msg;
  }
  // busy disables a button while fn runs.
  async function busy(btn, fn) {
    btn.disabled = true;
    try { return await fn(); } finally { btn.disabled = false; }
  }

  // ---- the API --------------------------------------------------------------------------

  class APIError extends Error {
    constructor(status, problem) {
      super((problem && problem.detail) || "请求失败 " + status);
      this.status = status;
      this.problem = problem || {};
      this.code = this.problem.code || "";
    }
  }
  class NetworkError extends Error {}
  // plain turns an error into words for the person at the screen.
  function plain(e) {
    if (e instanceof NetworkError) return "连接服务器失败，请检查网络后再试。";
    if (!(e instanceof APIError)) return "页面出错了，请刷新后再试。（" + ((e && e.message) || e) + "）";
    const p = e.problem;
    if (e.status === 401) return "登录已过期，请重新登录。";
    if (e.status === 403) return "您的账号没有权限做这件事。";
    if (e.status >= 500) return "服务器出错了，请稍后再试。" + (p.request_id ? `（编号 ${p.request_id}）` : "");
    if (Array.isArray(p.fields) && p.fields.length > 0 && p.code === "validation_failed") {
      return "请检查填写的内容：" + p.fields.map((f) => f.reason).join("；");
    }
    let msg = p.detail || e.message;
    if (Array.isArray(p.fields)) {
      for (const f of p.fields) if (f.reason && !msg.includes(f.reason)) msg += "\n" + f.reason;
    }
    return msg;
  }
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (S.token) headers.Authorization = "Bearer " + S.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let resp;
    try {
      resp = await fetch("/api/v1" + path, {
        method, headers, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new NetworkError(String(e));
    }
    let data = null;
    if (resp.status !== 204) {
      try { data = await resp.json(); } catch (_) { data = null; }
    }
    if (!resp.ok) {
      const err = new APIError(resp.status, data);
      if (resp.status === 401 && path !== "/auth/staff/login" && S.token) expired();
      throw err;
    }
    return data;
  }
  function expired() {
    S.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    showLogin();
    showAlert("登录已过期，请重新登录。");
  }

  // ---- login ----------------------------------------------------------------------------

  function showLogin() {
    for (const id of ["finance", "merchant", "norole"]) $(id).hidden = true;
    $("login").hidden = false;
    $("who").hidden = true;
    $("logout").hidden = true;
    $("username").focus();
  }
  async function login(ev) {
    ev.preventDefault();
    const btn = ev.submitter || $("login-form").querySelector("button");
    await busy(btn, async () => {
      try {
        const sess = await api("POST", "/auth/staff/login", { username: $("username").value.trim(), password: $("password").value });
        S.token = sess.token;
        sessionStorage.setItem(TOKEN_KEY, S.token);
        $("password").value = "";
        hideAlert();
        await start();
      } catch (e) {
        showAlert(e instanceof APIError && e.status === 401 ? "用户名或密码不对，请重新输入。" : plain(e));
      }
    });
  }
  // logout ends the session and reloads the page, so nothing of it stays on the screen.
  async function logout() {
    const token = S.token;
    S.token = "";
    sessionStorage.removeItem(TOKEN_KEY);
    try {
      await fetch("/api/v1/auth/logout", { method: "POST", headers: { Authorization: "Bearer " + token } });
    } catch (_) { /* the session ends when it expires */ }
    location.reload();
  }
  async function start() {
    if (!S.token) return showLogin();
    try {
      S.me = await api("GET", "/me");
    } catch (e) {
      if (!(e instanceof APIError && e.status === 401)) { showLogin(); showAlert(plain(e)); }
      return;
    }
    const roles = S.me.roles || [];
    S.finance = roles.includes("finance");
    S.staffView = S.finance || roles.includes("admin");
    S.merchant = roles.includes("merchant");
    $("login").hidden = true;
    $("who").textContent = S.me.name + "（" + roles.map((r) => ({ finance: "财务", admin: "管理员", merchant: "合作商户" })[r] || r).join("、") + "）";
    $("who").hidden = false;
    $("logout").hidden = false;
    $("norole").hidden = S.staffView || S.merchant;
    $("finance").hidden = !S.staffView;
    $("merchant").hidden = !S.merchant;
    if (S.staffView) {
      const q = new URLSearchParams(location.search).get("month");
      setMonth(validMonth(q) ? q : addMonths(thisMonth(), -1));
    }
    if (S.merchant) loadMerchant();
  }

  // ---- finance: the month ---------------------------------------------------------------

  function setMonth(m) {
    S.month = m;
    $("month").value = m;
    const u = new URL(location.href);
    u.searchParams.set("month", m);
    history.replaceState(null, "", u);
    loadMonth();
  }
  async function loadMonth() {
    const m = S.month;
    const n = ++S.load;
    const current = () => n === S.load;
    showError("month-error", "");
    $("month-state").textContent = "正在读取…";
    $("month-state").className = "badge";
    let closes;
    try {
      closes = (await api("GET", "/admin/settlement/closes")).items || [];
    } catch (e) {
      if (!current()) return;
      $("month-state").textContent = "";
      $("open-view").hidden = $("closed-view").hidden = true;
      return showError("month-error", plain(e));
    }
    if (!current()) return;
    const close = closes.find((c) => c.month === m);
    loadRecon(m, current);
    loadAttempts(m, current);
    if (close) return showClosed(m, close, current);
    return showOpen(m, current);
  }

  async function showOpen(m, current) {
    let p;
    try {
      p = await api("GET", `/admin/settlement/months/${m}/preview`);
    } catch (e) {
      if (!current()) return;
      if (e.code === "month_closed") return loadMonth(); // closed meanwhile
      $("open-view").hidden = $("closed-view").hidden = true;
      $("month-state").textContent = e.code === "month_in_future" ? "还没到" : "";
      return showError("month-error", plain(e));
    }
    if (!current()) return;
    $("closed-view").hidden = true;
    $("open-view").hidden = false;
    $("month-state").textContent = "未结账";
    $("month-state").className = "badge open";
    $("open-note").textContent = p.month_ended
      ? `${m} 已结束，尚未结账。下面是现在结账会生成的结算单（预览，不保存）。`
      : `${m} 还没有结束，数字截至 ${when(p.generated_at)}，会随新的收付变化；月底之后才能结账。`;
    const before = p.open_before || [];
    $("open-before").hidden = before.length === 0;
    $("open-before").textContent = `之前还有未结账的月份：${before.join("、")}。请先为它们结账。`;
    renderStatementRows($("preview-rows"), p.statements || [], false);
    renderFindings(p.findings || []);
    $("close-box").hidden = !S.finance;
    showError("close-error", "");
  }

  function partyCell(s) {
    const td = cell("结算对象", null, "first");
    td.append(el("span", "party", s.party_name), el("span", "kind", KIND[s.party.kind] || s.party.kind));
    return td;
  }
  function renderStatementRows(tbody, list, closed) {
    tbody.replaceChildren();
    if (list.length === 0) {
      const tr = el("tr");
      const td = cell("", "这个月没有资金往来，没有结算单。");
      td.colSpan = closed ? 11 : 9;
      tr.append(td);
      tbody.append(tr);
      return;
    }
    for (const s of list) {
      const tr = el("tr");
      if (s.id) tr.dataset.statement = s.id;
      tr.append(partyCell(s));
      for (const [key, label, isMoney] of TOTALS) {
        const v = s.totals[key];
        tr.append(isMoney ? money(label, v, key === "total_fen" ? "total" : "") : cell(label, v, "num"));
      }
      if (closed) {
        const sign = cell("商户确认", null, "block signoff");
        sign.append(statusBadge(s.status), signoffList(s.signoffs || [], false));
        tr.append(sign);
        const ex = cell("导出", null, "block");
        ex.append(exportLinks(`/admin/settlement/statements/${s.id}/export`));
        tr.append(ex);
      }
      tbody.append(tr);
    }
  }
  function statusBadge(status) {
    return el("span", "status " + (status || "issued"), STATUS[status] || STATUS.issued);
  }
  // signoffList lists a statement's sign-offs, oldest first; withIssued shows the issue too.
  function signoffList(signoffs, withIssued) {
    const ol = el("ol", "history");
    for (const so of signoffs) {
      if (so.status === "issued" && !withIssued) continue;
      const li = el("li");
      const who = so.actor && so.actor.name ? so.actor.name + " " : "";
      li.append(el("span", "", `${when(so.at)} ${who}${SIGNOFF[so.status] || so.status}`));
      if (so.comment) li.append(el("span", "comment", "意见：" + so.comment));
      ol.append(li);
    }
    return ol;
  }

  function renderFindings(findings) {
    const ol = $("findings");
    ol.replaceChildren();
    $("findings-h").textContent = findings.length ? `结账前检查：发现 ${findings.length} 个问题` : "结账前检查";
    $("findings-none").hidden = findings.length > 0;
    for (const f of findings) {
      const li = el("li", "finding");
      li.dataset.code = f.code;
      li.append(el("h4", "", f.title || f.code), el("p", "detail", f.detail));
      const dl = el("dl", "facts");
      const fact = (name, value) => {
        const d = el("div");
        d.append(el("dt", "", name), el("dd", "", value));
        dl.append(d);
      };
      fact("涉及金额", yuan(f.fen));
      for (const [k, v] of Object.entries(f.amounts || {})) {
        fact(AMOUNT[k] || k, k === "fen" || k.endsWith("_fen") ? yuan(v) : String(v));
      }
      li.append(dl);
      const ids = f.order_ids || [];
      const orders = el("p", "orders", ids.length ? "相关订单：" : "没有对应的订单。");
      for (const id of ids) orders.append(el("span", "order-no", "订单 #" + id));
      li.append(orders);
      ol.append(li);
    }
    $("override").hidden = findings.length === 0;
    if (findings.length === 0) $("override-on").checked = false;
    overrideToggled();
  }
  function overrideToggled() {
    const on = $("override-on").checked && !$("override").hidden;
    $("close-month").textContent = on ? "强制结账" : "结账";
    $("close-month").classList.toggle("danger", on);
  }
  async function closeMonth() {
    const m = S.month;
    const on = $("override-on").checked && !$("override").hidden;
    const body = on ? { override: true, reason: $("override-reason").value } : {};
    showError("close-error", "");
    await busy($("close-month"), async () => {
      try {
        const c = await api("POST", `/admin/settlement/months/${m}/close`, body);
        $("override-on").checked = false;
        $("override-reason").value = "";
        showAlert(`${m} 已结账：生成 ${c.statements} 张结算单。`, true);
        await loadMonth();
      } catch (e) {
        showError("close-error", plain(e));
        if (Array.isArray(e.problem.findings)) renderFindings(e.problem.findings);
      }
    });
  }

  async function showClosed(m, close, current) {
    $("open-view").hidden = true;
    $("month-state").textContent = "已结账";
    $("month-state").className = "badge closed";
    let info = `${m} 已于 ${when(close.closed_at)} 结账（${TRIGGER[close.trigger] || close.trigger}，操作人：${(close.actor && close.actor.name) || "—"}），共 ${close.statements} 张结算单。`;
    if (close.override) {
      info += `\n这是强制结账：当时检查发现 ${(close.findings || []).length} 个问题，原因：${close.override_reason}`;
    }
    $("close-info").textContent = info;
    $("close-info").style.whiteSpace = "pre-line";
    let list;
    try {
      list = (await api("GET", `/admin/settlement/statements?month=${m}`)).items || [];
      // The sign-off history is on each statement; one line of detail is the least a read returns.
      const full = await Promise.all(list.map((s) => api("GET", `/admin/settlement/statements/${s.id}?limit=1`)));
      list = list.map((s, i) => Object.assign({}, s, { status: full[i].status, signoffs: full[i].signoffs }));
    } catch (e) {
      if (!current()) return;
      $("closed-view").hidden = true;
      return showError("month-error", plain(e));
    }
    if (!current()) return;
    $("closed-view").hidden = false;
    renderStatementRows($("statement-rows"), list, true);
  }

  // ---- exports --------------------------------------------------------------------------

  function exportLinks(base) {
    const box = el("span", "exports");
    for (const [format, label] of [["xlsx", "XLSX"], ["csv", "CSV"], ["html", "打印版"]]) {
      const a = el("a", "dl", label);
      a.href = "/api/v1" + base + "?format=" + format;
      a.dataset.format = format;
      a.title = format === "html" ? "在新窗口打开，可以打印" : "下载 " + label + " 文件";
      a.addEventListener("click", (ev) => { ev.preventDefault(); download(a); });
      box.append(a);
    }
    return box;
  }
  // fileName reads the UTF-8 file name of a Content-Disposition header.
  function fileName(cd) {
    const m = /filename\*=UTF-8''([^;]+)/i.exec(cd || "");
    if (m) {
      try { return decodeURIComponent(m[1]); } catch (_) { /* fall through */ }
    }
    const q = /filename="([^"]+)"/i.exec(cd || "");
    return q ? q[1] : "";
  }
  // download fetches an export with the login (a plain link cannot send it) and hands the
  // file to the browser: spreadsheets are saved, the printable statement opens in a new tab.
  async function download(a) {
    if (a.classList.contains("busy")) return;
    const html = a.dataset.format === "html";
    const win = html ? window.open("", "_blank") : null; // now, while the click allows a new tab
    if (win) win.opener = null;
    const box = a.parentElement;
    const old = box.parentElement.querySelector(".dl-error");
    if (old) old.remove();
    a.classList.add("busy");
    try {
      let resp;
      try {
        resp = await fetch(a.href, { headers: { Authorization: "Bearer " + S.token }, cache: "no-store" });
      } catch (e) {
        throw new NetworkError(String(e));
      }
      if (!resp.ok) {
        let data = null;
        try { data = await resp.json(); } catch (_) { data = null; }
        if (resp.status === 401) expired();
        throw new APIError(resp.status, data);
      }
      const blob = await resp.blob();
      const url = URL.createObjectURL(blob);
      if (win) {
        win.location.href = url;
      } else {
        const t = document.createElement("a");
        t.href = url;
        t.download = fileName(resp.headers.get("Content-Disposition")) || "结算单." + a.dataset.format;
        document.body.append(t);
        t.click();
        t.remove();
      }
      a.dataset.downloaded = resp.headers.get("Content-Type") || "";
      setTimeout(() => URL.revokeObjectURL(url), 120000);
    } catch (e) {
      if (win) win.close();
      box.after(el("span", "dl-error", "导出失败：" + plain(e)));
    } finally {
      a.classList.remove("busy");
    }
  }

  // ---- finance: reconciliation ----------------------------------------------------------

  async function loadRecon(m, current) {
    $("recon").hidden = false;
    let r;
    try {
      r = await api("GET", `/admin/reconciliation?month=${m}`);
    } catch (e) {
      if (!current()) return;
      S.recon = null;
      $("recon-days").replaceChildren();
      $("recon-table").hidden = true;
      $("recon-matched").hidden = true;
      $("recon-note").textContent = e.code === "wechat_pay_not_configured"
        ? "本社区没有接入微信支付，没有对账数据。" : "对账数据读取失败：" + plain(e);
      return;
    }
    if (!current()) return;
    S.recon = r;
    renderRecon();
  }
  function renderRecon() {
    const r = S.recon;
    const c = r.counts || {};
    const diff = (c.missing_ours || 0) + (c.missing_wechat || 0) + (c.amount_mismatch || 0);
    const days = r.days || [];
    let note = days.length === 0
      ? "这个月还没有下载到微信支付的对账单。"
      : `已匹配 ${c.matched || 0} 笔；差异 ${diff} 笔（我方无记录 ${c.missing_ours || 0}，微信账单无记录 ${c.missing_wechat || 0}，金额不一致 ${c.amount_mismatch || 0}）。`;
    if (days.length > 0 && diff === 0) note += "没有需要处理的差异。";
    $("recon-note").textContent = note;

    const ul = $("recon-days");
    ul.replaceChildren();
    for (const d of days) {
      const li = el("li", "day");
      li.dataset.day = d.day;
      li.append(el("span", "", d.day.slice(5)));
      li.append(el("span", "when", d.empty ? "当日无交易" : d.checked_at ? "已对账 " + when(d.checked_at) : "未对账"));
      if (S.finance) {
        const b = el("button", "small-btn rerun", "重新对账");
        b.type = "button";
        b.setAttribute("aria-label", `重新对账 ${d.day}`);
        b.addEventListener("click", () => rerun(b, d.day));
        li.append(b);
      }
      ul.append(li);
    }

    const items = (r.items || []).filter((x) => S.showMatched || x.outcome !== "matched");
    const tbody = $("recon-rows");
    tbody.replaceChildren();
    for (const x of items) tbody.append(reconRow(x));
    $("recon-table").hidden = items.length === 0;
    const matched = c.matched || 0;
    $("recon-matched").hidden = matched === 0;
    $("recon-matched").textContent = S.showMatched ? "隐藏已匹配的记录" : `显示已匹配的 ${matched} 笔`;
  }
  function reconRow(x) {
    const tr = el("tr");
    tr.dataset.ref = x.ref;
    tr.append(cell("账单日", x.day, "first"));
    tr.append(cell("结果", el("span", "outcome " + x.outcome, OUTCOME[x.outcome] || x.outcome)));
    const ref = el("span", "refbox");
    ref.append(el("span", "ref", x.ref), el("span", "kind", x.kind === "refund" ? "退款" : "支付"));
    tr.append(cell("单号", ref));
    const o = x.order;
    tr.append(cell("订单", o ? `#${o.id} ${o.canteen_name} ${o.day}（${ORDER_STATUS[o.status] || o.status}）` : "找不到对应订单"));
    tr.append(x.our_fen === null || x.our_fen === undefined ? cell("我方金额", "无记录", "num") : money("我方金额", x.our_fen));
    tr.append(x.bill_fen === null || x.bill_fen === undefined ? cell("微信账单金额", "无记录", "num") : money("微信账单金额", x.bill_fen));
    tr.append(cell("说明", x.detail || ""));
    const note = cell("处理备注", null, "block");
    if (x.resolution) {
      const p = el("div", "noted", x.resolution.note);
      p.append(el("span", "by", `${x.resolution.noted_by_name} ${when(x.resolution.noted_at)}`));
      note.append(p);
    } else if (!S.finance) {
      note.append(el("span", "muted", "尚未处理"));
    }
    if (S.finance && x.outcome !== "matched") {
      const form = el("form", "note-form");
      const ta = el("textarea", "note-input");
      ta.rows = 2;
      ta.maxLength = 500;
      ta.placeholder = x.resolution ? "修改备注" : "写下核实结果，如：已联系微信，手续费差额";
      ta.setAttribute("aria-label", `处理备注 ${x.ref}`);
      const b = el("button", "small-btn", "保存备注");
      b.type = "submit";
      const err = el("span", "dl-error");
      err.hidden = true;
      form.append(ta, b, err);
      form.addEventListener("submit", (ev) => { ev.preventDefault(); saveNote(b, x, ta.value, err); });
      note.append(form);
    }
    tr.append(note);
    return tr;
  }
  async function saveNote(btn, x, text, err) {
    err.hidden = true;
    await busy(btn, async () => {
      try {
        await api("POST", `/admin/reconciliation/${x.day}/resolutions`, { kind: x.kind, ref: x.ref, note: text });
        showAlert(`备注已保存：${x.ref}`, true);
        await loadMonth();
      } catch (e) {
        err.textContent = plain(e);
        err.hidden = false;
      }
    });
  }
  async function rerun(btn, day) {
    await busy(btn, async () => {
      try {
        const r = await api("POST", `/admin/reconciliation/${day}/run`);
        const c = r.counts || {};
        showAlert(`已重新对账 ${day}：已匹配 ${c.matched || 0} 笔，差异 ${(c.missing_ours || 0) + (c.missing_wechat || 0) + (c.amount_mismatch || 0)} 笔。`, true);
        await loadMonth();
      } catch (e) {
        showAlert(`重新对账 ${day} 没有成功：${plain(e)}`);
      }
    });
  }

  // ---- finance: close attempts ----------------------------------------------------------

  async function loadAttempts(m, current) {
    $("attempts").hidden = false;
    let list;
    try {
      list = ((await api("GET", "/admin/settlement/attempts")).items || []).filter((a) => a.month === m);
    } catch (e) {
      if (!current()) return;
      $("attempts-table").hidden = true;
      $("attempts-none").hidden = false;
      $("attempts-none").textContent = "结账记录读取失败：" + plain(e);
      return;
    }
    if (!current()) return;
    const tbody = $("attempt-rows");
    tbody.replaceChildren();
    for (const a of list) {
      const tr = el("tr");
      tr.dataset.outcome = a.outcome;
      tr.append(cell("时间", when(a.at), "first"), cell("方式", TRIGGER[a.trigger] || a.trigger),
        cell("结果", ATTEMPT[a.outcome] || a.outcome), cell("发现问题", (a.findings || []).length + " 个", "num"),
        cell("操作人", (a.actor && a.actor.name) || "—"));
      tbody.append(tr);
    }
    $("attempts-table").hidden = list.length === 0;
    $("attempts-none").hidden = list.length > 0;
    $("attempts-none").textContent = "这个月还没有结账记录。";
  }

  // ---- merchant -------------------------------------------------------------------------

  async function loadMerchant() {
    const box = $("merchant-list");
    let list;
    try {
      list = (await api("GET", "/merchant/statements")).items || [];
      const full = await Promise.all(list.map((s) => api("GET", `/merchant/statements/${s.id}?limit=1`)));
      list = list.map((s, i) => Object.assign({}, s, { status: full[i].status, signoffs: full[i].signoffs }));
    } catch (e) {
      box.replaceChildren(el("p", "error", "结算单读取失败：" + plain(e)));
      return;
    }
    $("merchant-none").hidden = list.length > 0;
    box.replaceChildren(...list.map(merchantCard));
  }
  function merchantCard(s) {
    const card = el("article", "card");
    card.dataset.statement = s.id;
    const head = el("div", "card-head");
    head.append(el("h3", "", `${s.month} 结算单`), el("span", "party", s.party_name),
      el("span", "muted", KIND[s.party.kind] || s.party.kind), statusBadge(s.status));
    card.append(head);

    const dl = el("dl", "totals");
    for (const [key, label, isMoney] of TOTALS) {
      const d = el("div", key === "total_fen" ? "grand" : "");
      d.append(el("dt", "", label), el("dd", "num", isMoney ? yuan(s.totals[key]) : String(s.totals[key])));
      dl.append(d);
    }
    card.append(dl);

    const actions = el("div", "actions");
    const err = el("p", "error");
    err.hidden = true;
    err.setAttribute("role", "alert");
    if (s.status === "confirmed") {
      actions.append(el("span", "ok-note", "已确认，无需再操作。"));
      card.append(actions);
    } else {
      const ok = el("button", "primary confirm", "确认无误");
      ok.type = "button";
      const no = el("button", "plain-btn dispute", "提出异议");
      no.type = "button";
      actions.append(ok, no);
      const form = el("form", "dispute-form");
      form.hidden = true;
      const label = el("label", "field", "异议内容（必填，写明哪里不对）");
      const ta = el("textarea", "dispute-text");
      ta.rows = 3;
      ta.maxLength = 500;
      label.append(ta);
      const send = el("button", "primary danger", "提交异议");
      send.type = "submit";
      const cancel = el("button", "plain-btn", "取消");
      cancel.type = "button";
      const row = el("div", "actions");
      row.append(send, cancel);
      form.append(label, row);
      ok.addEventListener("click", () => signoff(ok, s, "confirm", "", err));
      no.addEventListener("click", () => { form.hidden = false; ta.focus(); });
      cancel.addEventListener("click", () => { form.hidden = true; err.hidden = true; });
      form.addEventListener("submit", (ev) => { ev.preventDefault(); signoff(send, s, "dispute", ta.value, err); });
      card.append(actions, form);
    }
    card.append(err);
    const ex = el("div", "actions");
    ex.append(el("span", "muted", "导出："), exportLinks(`/merchant/statements/${s.id}/export`));
    card.append(ex);
    card.append(el("h4", "", "确认记录"), signoffList(s.signoffs || [], true));
    return card;
  }
  async function signoff(btn, s, action, comment, err) {
    err.hidden = true;
    await busy(btn, async () => {
      try {
        await api("POST", `/merchant/statements/${s.id}/${action}`, action === "dispute" ? { comment } : undefined);
        showAlert(action === "confirm" ? `已确认 ${s.month} ${s.party_name} 的结算单。` : "异议已提交，社区财务会核实处理。", true);
        await loadMerchant();
      } catch (e) {
        err.textContent = plain(e);
        err.hidden = false;
      }
    });
  }

  // ---- start ----------------------------------------------------------------------------

  // A fault of the page itself is said too, never swallowed.
  window.addEventListener("unhandledrejection", (ev) => showAlert(plain(ev.reason)));
  window.addEventListener("error", (ev) => showAlert(plain(ev.error || ev.message)));
  window.canteenConsole = { yuan };
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("month").addEventListener("change", () => { if (validMonth($("month").value)) setMonth($("month").value); });
  $("prev-month").addEventListener("click", () => setMonth(addMonths(S.month, -1)));
  $("next-month").addEventListener("click", () => setMonth(addMonths(S.month, 1)));
  $("override-on").addEventListener("change", overrideToggled);
  $("close-month").addEventListener("click", closeMonth);
  $("recon-matched").addEventListener("click", () => { S.showMatched = !S.showMatched; if (S.recon) renderRecon(); });
  start();
})();
