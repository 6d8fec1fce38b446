// The kitchen screen: kitchen staff log in once per device, pick the canteen and see its
// open tickets in three columns. A Server-Sent Events stream says when tickets change;
// the screen then reloads them all, so a missed event costs nothing. Tap a card to bump
// it, tap 撤回 to recall it. Every piece of data goes in as textContent, never as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "canteen.kitchen.token";
  const CANTEEN_KEY = "canteen.kitchen.canteen";
  const params = new URLSearchParams(location.search);
  const minutes = (name, def) => {
    const n = Number(params.get(name));
    return Number.isFinite(n) && n > 0 ? n : def;
  };
  const AMBER = minutes("amber", 5); // minutes waiting before a card turns amber
  const RED = Math.max(minutes("red", 10), AMBER); // … and red
  const COLUMNS = { new: "new", preparing: "preparing", ready: "ready", out_for_delivery: "ready" };
  const $ = (id) => document.getElementById(id);

  const S = {
    token: localStorage.getItem(TOKEN_KEY) || "",
    me: null,
    canteens: [],
    canteen: null,
    tickets: [],
    seen: null, // ticket ids already shown; null before the first load
    fresh: new Set(), // ids that arrived while the screen was open: they flash
    es: null,
    retry: 0,
    skew: 0, // server clock minus this device's clock, in ms
    audio: null,
    busy: new Set(),
  };

  // ---- helpers --------------------------------------------------------------------------
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  let alertTimer = 0;
  function showAlert(msg) {
    const a = $("alert");
    a.textContent = msg;
    a.hidden = false;
    clearTimeout(alertTimer);
    alertTimer = setTimeout(() => { a.hidden = true; }, 6000);
  }
  function show(section) {
    for (const id of ["login", "pick", "board"]) $(id).hidden = id !== section;
    $("hint").hidden = section !== "board";
    const inside = section !== "login";
    $("logout").hidden = !inside;
    $("switch").hidden = !(section === "board" && S.canteens.length > 1);
    $("sound").hidden = !inside || (S.audio && S.audio.state === "running");
  }
  class HTTPError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }
  async function api(method, path, body) {
    const headers = { Accept: "application/json" };
    if (S.token) headers.Authorization = "Bearer " + S.token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch("/api/v1" + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
    const date = Date.parse(resp.headers.get("Date") || "");
    if (Number.isFinite(date)) S.skew = date - Date.now();
    let data = null;
    try { data = await resp.json(); } catch (_) { data = null; }
    if (resp.status === 401 && path !== "/auth/staff/login") {
      logout("登录已过期，请重新登录");
      throw new HTTPError(401, "请重新登录");
    }
    if (!resp.ok) throw new HTTPError(resp.status, (data && data.detail) || ("请求失败 " + resp.status));
    return data;
  }

  // ---- sound ----------------------------------------------------------------------------
  // Browsers start audio only after a tap, so the first tap anywhere unlocks it.
  function unlockAudio() {
    try {
      if (!S.audio) S.audio = new (window.AudioContext || window.webkitAudioContext)();
      if (S.audio.state === "suspended") S.audio.resume();
    } catch (_) { /* no audio on this device */ }
    setTimeout(() => { $("sound").hidden = !S.audio || S.audio.state === "running" || !$("login").hidden; }, 100);
  }
  function beep() {
    const a = S.audio;
    if (!a || a.state !== "running") return;
    const t = a.currentTime;
    for (const [i, f] of [[0, 880], [1, 1320]]) {
      const o = a.createOscillator();
      const g = a.createGain();
      o.type = "sine";
      o.frequency.value = f;
      g.gain.setValueAtTime(0.0001, t + i * 0.18);
      g.gain.exponentialRampToValueAtTime(0.4, t + i * 0.18 + 0.02);
      g.gain.exponentialRampToValueAtTime(0.0001, t + i * 0.18 + 0.16);
      o.connect(g).connect(a.destination);
      o.start(t + i * 0.18);
      o.stop(t + i * 0.18 + 0.17);
    }
  }

  // ---- login and canteen ----------------------------------------------------------------
  async function login(ev) {
    ev.preventDefault();
    unlockAudio();
    try {
      const sess = await api("POST", "/auth/staff/login", { username: $("username").value.trim(), password: $("password").value });
      S.token = sess.token;
      localStorage.setItem(TOKEN_KEY, S.token);
      $("password").value = "";
      await start();
    } catch (e) {
      showAlert(e.status === 401 ? "用户名或密码错误" : e.message);
    }
  }
  function logout(msg) {
    if (S.token && !msg) api("POST", "/auth/logout").catch(() => {});
    S.token = "";
    S.me = null;
    localStorage.removeItem(TOKEN_KEY);
    closeStream();
    show("login");
    if (msg) showAlert(msg);
  }
  async function start() {
    if (!S.token) { show("login"); return; }
    try {
      S.me = await api("GET", "/me");
      const list = await api("GET", "/admin/canteens");
      S.canteens = (list.items || []).filter((c) => !c.closed);
    } catch (e) {
      if (e.status !== 401) showAlert(e.message);
      return;
    }
    const want = Number(params.get("canteen")) || Number(localStorage.getItem(CANTEEN_KEY));
    const found = S.canteens.find((c) => c.id === want) || (S.canteens.length === 1 ? S.canteens[0] : null);
    if (found) { openCanteen(found); return; }
    const ul = $("canteens");
    ul.replaceChildren();
    for (const c of S.canteens) {
      const b = el("button", "choice", c.name);
      b.type = "button";
      b.addEventListener("click", () => openCanteen(c));
      const li = el("li");
      li.append(b);
      ul.append(li);
    }
    if (!S.canteens.length) ul.append(el("li", "muted", "没有可以查看的食堂"));
    show("pick");
  }
  function openCanteen(c) {
    S.canteen = c;
    S.seen = null;
    S.tickets = [];
    localStorage.setItem(CANTEEN_KEY, String(c.id));
    $("canteen-name").textContent = c.name;
    show("board");
    render();
    openStream();
    reload();
  }

  // ---- tickets --------------------------------------------------------------------------
  let loading = false, again = false;
  async function reload() {
    if (!S.canteen) return;
    if (loading) { again = true; return; }
    loading = true;
    try {
      const id = S.canteen.id;
      const data = await api("GET", `/kitchen/canteens/${id}/tickets`);
      if (!S.canteen || S.canteen.id !== id) return;
      const items = data.items || [];
      let arrived = false;
      if (S.seen) {
        for (const t of items) if (!S.seen.has(t.id)) { S.fresh.add(t.id); arrived = true; }
      }
      S.seen = new Set(items.map((t) => t.id));
      S.tickets = items;
      render();
      if (arrived) beep();
    } catch (e) {
      if (e.status !== 401) setConn("off", "加载失败，重试中…");
    } finally {
      loading = false;
      if (again) { again = false; reload(); }
    }
  }
  let debounce = 0;
  function soon() { clearTimeout(debounce); debounce = setTimeout(reload, 150); }

  async function move(t, how) {
    if (S.busy.has(t.id)) return;
    S.busy.add(t.id);
    render();
    try {
      await api("POST", `/kitchen/tickets/${t.id}/${how}`);
    } catch (e) {
      if (e.status !== 401) showAlert(`${t.pickup_no}：${e.message}`);
    } finally {
      S.busy.delete(t.id);
      reload();
    }
  }

  function ageClass(mins) { return mins >= RED ? "age-red" : mins >= AMBER ? "age-amber" : "age-ok"; }
  function render() {
    const cols = { new: [], preparing: [], ready: [] };
    for (const t of S.tickets) {
      const c = COLUMNS[t.state];
      if (c) cols[c].push(t); // the API lists them oldest first
    }
    for (const [name, list] of Object.entries(cols)) {
      $("n-" + name).textContent = String(list.length);
      $("c-" + name).replaceChildren(...list.map(card));
    }
    tickAges();
  }
  function card(t) {
    const li = el("li", "card");
    li.dataset.ticket = String(t.id);
    li.dataset.state = t.state;
    li.dataset.created = t.created_at;
    if (S.fresh.has(t.id)) {
      li.classList.add("flash");
      setTimeout(() => S.fresh.delete(t.id), 6000);
    }
    if (S.busy.has(t.id)) li.classList.add("busy");
    const next = { new: "开始制作", preparing: "做好了", ready: t.delivery ? "送出" : "已取餐", out_for_delivery: "已送达" }[t.state];
    li.tabIndex = 0;
    li.setAttribute("role", "button");
    li.setAttribute("aria-label", `取餐号 ${t.pickup_no}，点一下：${next}`);
    li.addEventListener("click", () => move(t, "bump"));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); move(t, "bump"); } });

    const head = el("div", "card-head");
    head.append(el("span", "pickup", t.pickup_no));
    if (t.delivery) head.append(el("span", "flag delivery", "送餐"));
    if (t.state === "out_for_delivery") head.append(el("span", "flag", "配送中"));
    if (t.reprints > 0) head.append(el("span", "flag muted", `补打 ${t.reprints}`));
    head.append(el("span", "age", ""));
    li.append(head);

    const ul = el("ul", "lines");
    for (const l of t.lines || []) {
      const row = el("li", "line");
      row.append(el("span", "dish", l.name), el("span", "qty", "× " + l.qty));
      if (l.note) row.append(el("span", "note", l.note));
      ul.append(row);
    }
    li.append(ul);
    // The ticket's notes gather its lines' notes; shown apart only when no line has one.
    if (t.notes && !(t.lines || []).some((l) => l.note)) li.append(el("p", "note notes", "备注：" + t.notes));

    const foot = el("div", "card-foot");
    foot.append(el("span", "next", "点卡片 → " + next));
    if (t.state !== "new") {
      const b = el("button", "recall", "撤回");
      b.type = "button";
      b.setAttribute("aria-label", `撤回取餐号 ${t.pickup_no}`);
      b.addEventListener("click", (ev) => { ev.stopPropagation(); move(t, "recall"); });
      foot.append(b);
    }
    li.append(foot);
    return li;
  }
  function tickAges() {
    const now = Date.now() + S.skew;
    for (const li of document.querySelectorAll(".card")) {
      const ms = Math.max(0, now - Date.parse(li.dataset.created));
      const mins = Math.floor(ms / 60000);
      li.classList.remove("age-ok", "age-amber", "age-red");
      if (li.dataset.state !== "ready" && li.dataset.state !== "out_for_delivery") li.classList.add(ageClass(ms / 60000));
      const a = li.querySelector(".age");
      if (a) a.textContent = mins < 1 ? "刚刚" : `${mins} 分钟`;
    }
  }

  // ---- live updates ---------------------------------------------------------------------
  function setConn(kind, text) {
    const c = $("conn");
    c.className = "conn " + kind;
    c.textContent = text;
  }
  function closeStream() {
    if (S.es) { S.es.close(); S.es = null; }
  }
  function openStream() {
    closeStream();
    if (!S.canteen || !S.token) return;
    setConn("wait", "连接中…");
    const url = `/api/v1/kitchen/canteens/${S.canteen.id}/stream?access_token=${encodeURIComponent(S.token)}`;
    const es = new EventSource(url);
    S.es = es;
    es.addEventListener("open", () => { S.retry = 0; setConn("on", "实时连接"); reload(); });
    es.addEventListener("ticket", soon);
    es.addEventListener("reload", soon);
    es.addEventListener("error", () => {
      if (S.es !== es) return;
      setConn("wait", "重新连接中…");
      if (es.readyState === EventSource.CLOSED) {
        // The server refused the stream (a lapsed session, a restart): check and retry.
        S.es = null;
        S.retry = Math.min(S.retry + 1, 6);
        setTimeout(() => { api("GET", "/me").then(openStream, () => {}); }, 1000 * 2 ** S.retry);
      }
    });
  }

  function clock() {
    const d = new Date(Date.now() + S.skew);
    $("clock").textContent = d.toLocaleTimeString("zh-CN", { hour12: false, timeZone: "Asia/Shanghai" });
    tickAges();
  }

  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout());
  $("switch").addEventListener("click", () => { closeStream(); S.canteen = null; localStorage.removeItem(CANTEEN_KEY); start(); });
  $("sound").addEventListener("click", unlockAudio);
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  setInterval(clock, 1000);
  setInterval(() => { if (S.canteen && !document.hidden) reload(); }, 60000); // a safety net
  clock();
  start();
})();
