// The kitchen screen: kitchen staff log in (or the screen is a registered device of one
// canteen), pick the canteen and see its open tickets in three columns, optionally of one
// station only. A Server-Sent Events stream says when tickets or printers change; the
// screen then reloads the tickets, so a missed event costs nothing. Tap a card to bump it,
// tap 撤回 to recall it; the header's 撤回 brings back a ticket just bumped off the board.
// Every piece of data goes in as textContent, never as HTML.
"use strict";

(() => {
  const TOKEN_KEY = "canteen.kitchen.token";
  const KIND_KEY = "canteen.kitchen.kind"; // "device" while the token is a registered device's
  const CANTEEN_KEY = "canteen.kitchen.canteen";
  const CANTEEN_NAME_KEY = "canteen.kitchen.canteen_name";
  const STATION_KEY = "canteen.kitchen.station."; // + canteen id: the station this screen shows
  const params = new URLSearchParams(location.search);
  const minutes = (name, def) => {
    const n = Number(params.get(name));
    return Number.isFinite(n) && n > 0 ? n : def;
  };
  const AMBER = minutes("amber", 5); // minutes waiting before a card turns amber
  const RED = Math.max(minutes("red", 10), AMBER); // … and red
  const COLUMNS = { new: "new", preparing: "preparing", ready: "ready", out_for_delivery: "ready" };
  const GONE = new Set(["picked_up", "delivered"]);
  const $ = (id) => document.getElementById(id);

  const S = {
    token: localStorage.getItem(TOKEN_KEY) || "",
    kind: localStorage.getItem(KIND_KEY) === "device" ? "device" : "staff",
    me: null,
    canteens: [],
    canteen: null,
    tickets: [],
    seen: null, // ticket ids already shown; null before the first load
    fresh: new Set(), // ids that arrived while the screen was open: they flash
    es: null,
    live: false, // the stream is open
    retry: 0,
    skew: 0, // server clock minus this device's clock, in ms
    audio: null,
    busy: new Set(),
    stations: [], // the canteen's stations; none: no filter
    station: 0, // the station shown; 0: all
    printers: new Map(), // id -> printer, from the printers route and "printer" events
    gone: [], // tickets this screen bumped off the board, newest first, for 撤回
    remember: null, // {name}: register this screen as a device once the canteen is chosen
  };

  // ---- helpers --------------------------------------------------------------------------
  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  let alertTimer = 0;
  function showAlert(msg, opts = {}) {
    const a = $("alert");
    a.textContent = msg;
    a.className = opts.ok ? "alert ok" : "alert";
    a.hidden = false;
    clearTimeout(alertTimer);
    if (!opts.sticky) alertTimer = setTimeout(() => { a.hidden = true; }, 6000);
  }
  function hideAlert() {
    clearTimeout(alertTimer);
    $("alert").hidden = true;
  }
  function show(section) {
    for (const id of ["login", "pick", "board"]) $(id).hidden = id !== section;
    $("hint").hidden = section !== "board";
    const inside = section !== "login";
    $("logout").hidden = !inside;
    $("logout").textContent = S.kind === "device" ? "注销设备" : "退出";
    $("switch").hidden = !(section === "board" && S.kind !== "device" && S.canteens.length > 1);
    $("sound").hidden = !inside || (S.audio && S.audio.state === "running");
    $("stations").hidden = section !== "board" || S.stations.length === 0;
    renderUndo();
    renderPrinters();
  }
  // The bar under the header holds the station filter and the printers, when there are any.
  function renderSubbar() {
    $("subbar").hidden = $("stations").hidden && $("printers").hidden;
  }
  // today is the Asia/Shanghai date by the server's clock, "2026-11-25".
  function today() {
    const now = new Date(Date.now() + S.skew);
    try {
      return new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(now);
    } catch (_) {
      return new Date(now.getTime() + 8 * 3600000).toISOString().slice(0, 10);
    }
  }
  class HTTPError extends Error {
    constructor(status, detail) { super(detail); this.status = status; }
  }
  // api calls /api/v1 with the screen's token, or opts.token. A 401 for the screen's own
  // token ends the session: the staff member logs in again, or the device was revoked.
  async function api(method, path, body, opts = {}) {
    const token = opts.token !== undefined ? opts.token : S.token;
    const headers = { Accept: "application/json" };
    if (token) headers.Authorization = "Bearer " + token;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    const resp = await fetch("/api/v1" + path, {
      method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store",
    });
    const date = Date.parse(resp.headers.get("Date") || "");
    if (Number.isFinite(date)) S.skew = date - Date.now();
    let data = null;
    try { data = await resp.json(); } catch (_) { data = null; }
    if (resp.status === 401 && path !== "/auth/staff/login") {
      if (token && token === S.token) expired();
      throw new HTTPError(401, "请重新登录");
    }
    if (!resp.ok) throw new HTTPError(resp.status, (data && data.detail) || ("请求失败 " + resp.status));
    return data;
  }
  function expired() {
    logout(S.kind === "device"
      ? "设备已被注销：这台屏幕的登记已被管理员注销或已过期，请工作人员重新登录。"
      : "登录已过期，请重新登录。");
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
    const root = document.documentElement; // how many times the screen has sounded
    root.dataset.beeps = String(Number(root.dataset.beeps || 0) + 1);
  }

  // ---- login, device and canteen --------------------------------------------------------
  function rememberToggled() {
    const on = $("remember").checked;
    $("device-field").hidden = !on;
    $("remember-note").hidden = !on;
    if (on && !$("device-name").value.trim()) $("device-name").value = "厨房屏幕 " + today();
  }
  async function login(ev) {
    ev.preventDefault();
    unlockAudio();
    const remember = $("remember").checked;
    try {
      const sess = await api("POST", "/auth/staff/login", { username: $("username").value.trim(), password: $("password").value });
      S.token = sess.token;
      S.kind = "staff";
      localStorage.removeItem(KIND_KEY);
      // A screen to be registered keeps the staff token in memory only: the device's own
      // token replaces it as soon as the canteen is chosen.
      if (remember) {
        S.remember = { name: ($("device-name").value.trim() || "厨房屏幕 " + today()).slice(0, 40) };
        localStorage.removeItem(TOKEN_KEY);
      } else {
        S.remember = null;
        localStorage.setItem(TOKEN_KEY, S.token);
      }
      $("password").value = "";
      hideAlert();
      await start();
    } catch (e) {
      showAlert(e.status === 401 ? "用户名或密码错误" : e.message);
    }
  }
  // registerDevice makes this screen a device of canteen c: the device token replaces the
  // staff member's, whose session then ends. Without the route (404) the staff session stays.
  async function registerDevice(c) {
    const want = S.remember;
    S.remember = null;
    const staffToken = S.token;
    try {
      const d = await api("POST", "/kitchen/devices", { name: want.name, canteen_id: c.id });
      if (!d || !d.token) throw new HTTPError(500, "服务器没有返回设备凭证");
      S.token = d.token;
      S.kind = "device";
      localStorage.setItem(TOKEN_KEY, d.token);
      localStorage.setItem(KIND_KEY, "device");
      localStorage.setItem(CANTEEN_NAME_KEY, c.name);
      api("POST", "/auth/logout", undefined, { token: staffToken }).catch(() => {});
      try { S.me = await api("GET", "/me"); } catch (_) { /* 401 already handled */ }
      showAlert(`已记住这台设备：“${d.name}”。个人账号已退出。`, { ok: true });
    } catch (e) {
      if (e.status === 401) return;
      localStorage.setItem(TOKEN_KEY, staffToken);
      showAlert(e.status === 404 || e.status === 405
        ? "服务器还不支持记住设备，这次用您的账号登录。"
        : `没能记住这台设备：${e.message}。这次用您的账号登录。`);
    }
  }
  function logoutClick() {
    const b = $("logout");
    if (S.kind === "device" && b.dataset.confirm !== "1") { // a revoked device needs staff to log in again
      b.dataset.confirm = "1";
      b.textContent = "再点一次：注销这台设备";
      setTimeout(() => { b.dataset.confirm = ""; b.textContent = S.kind === "device" ? "注销设备" : "退出"; }, 5000);
      return;
    }
    b.dataset.confirm = "";
    logout();
  }
  function logout(msg) {
    if (S.token && !msg) api("POST", "/auth/logout").catch(() => {});
    S.token = "";
    S.kind = "staff";
    S.me = null;
    S.canteen = null;
    S.remember = null;
    S.gone = [];
    S.printers.clear();
    S.stations = [];
    localStorage.removeItem(TOKEN_KEY);
    localStorage.removeItem(KIND_KEY);
    closeStream();
    $("canteen-name").textContent = "";
    setConn("off", "未连接");
    show("login");
    if (msg) showAlert(msg, { sticky: true });
  }
  let startTimer = 0;
  async function start() {
    clearTimeout(startTimer);
    if (!S.token) { show("login"); return; }
    try {
      S.me = await api("GET", "/me");
      if (S.me.kind !== "device") {
        const list = await api("GET", "/admin/canteens");
        S.canteens = (list.items || []).filter((c) => !c.closed);
      }
    } catch (e) {
      if (e.status !== 401) {
        setConn("off", "连不上服务器，重试中…");
        startTimer = setTimeout(start, 5000);
      }
      return;
    }
    if (S.me.kind === "device") {
      S.kind = "device";
      localStorage.setItem(KIND_KEY, "device");
      const id = S.me.canteen_id || (S.me.canteen_ids || [])[0];
      S.canteens = [];
      openCanteen({ id, name: localStorage.getItem(CANTEEN_NAME_KEY) || `食堂 ${id}` });
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
  async function openCanteen(c) {
    if (S.remember) {
      await registerDevice(c);
      if (!S.token) return;
    }
    S.canteen = c;
    S.seen = null;
    S.tickets = [];
    S.gone = [];
    S.stations = [];
    S.station = 0;
    S.printers.clear();
    localStorage.setItem(CANTEEN_KEY, String(c.id));
    $("canteen-name").textContent = c.name;
    $("canteen-name").title = S.kind === "device" && S.me ? "设备：" + S.me.name : "";
    show("board");
    render();
    openStream();
    reload();
    loadStations();
    loadPrinters();
  }

  // ---- stations -------------------------------------------------------------------------
  async function loadStations() {
    const id = S.canteen && S.canteen.id;
    if (!id) return;
    let list = [];
    try {
      list = (await api("GET", `/kitchen/canteens/${id}/stations`)).stations || [];
    } catch (_) {
      list = []; // no filter without the list
    }
    if (!S.canteen || S.canteen.id !== id) return;
    S.stations = list;
    const saved = Number(localStorage.getItem(STATION_KEY + id)) || 0;
    S.station = list.some((st) => st.id === saved) ? saved : 0;
    renderStations();
    render();
  }
  function renderStations() {
    $("stations").hidden = !S.canteen || S.stations.length === 0 || $("board").hidden;
    const all = [{ id: 0, name: "全部" }, ...S.stations];
    $("station-buttons").replaceChildren(...all.map((st) => {
      const b = el("button", "station", st.name);
      b.type = "button";
      b.dataset.station = String(st.id);
      b.setAttribute("aria-pressed", String(st.id === S.station));
      b.addEventListener("click", () => pickStation(st.id));
      return b;
    }));
    renderSubbar();
  }
  function pickStation(id) {
    S.station = id;
    if (S.canteen) localStorage.setItem(STATION_KEY + S.canteen.id, String(id));
    renderStations();
    render();
  }
  // linesShown are the lines of t this screen shows: all, or the chosen station's.
  function linesShown(t) {
    const lines = t.lines || [];
    return S.station ? lines.filter((l) => (l.station_id || 0) === S.station) : lines;
  }

  // ---- printers -------------------------------------------------------------------------
  async function loadPrinters() {
    const id = S.canteen && S.canteen.id;
    if (!id) return;
    let list;
    try {
      list = (await api("GET", `/kitchen/canteens/${id}/printers`)).printers || [];
    } catch (e) {
      if (e.status === 401) return;
      if (e.status !== 404 && e.status !== 405) return; // keep what is known through a passing failure
      list = []; // a server without printers
    }
    if (!S.canteen || S.canteen.id !== id) return;
    S.printers = new Map(list.map((p) => [p.id, p]));
    renderPrinters();
    document.documentElement.dataset.printersLoaded = String(S.printers.size);
  }
  function onPrinter(ev) {
    let p = null;
    try { p = JSON.parse(ev.data); } catch (_) { return; }
    if (!p || !p.id || !S.canteen || (p.canteen_id && p.canteen_id !== S.canteen.id)) return;
    S.printers.set(p.id, p);
    renderPrinters();
  }
  // renderPrinters shows a dot per enabled printer (green ok, red down, grey unknown) and
  // a red banner while any enabled printer is down; nothing for a canteen without printers.
  function renderPrinters() {
    const onBoard = !!S.canteen && !$("board").hidden;
    const list = [...S.printers.values()].filter((p) => p.enabled !== false).sort((a, b) => a.id - b.id);
    const box = $("printers");
    box.hidden = !onBoard || list.length === 0;
    box.replaceChildren(...list.map((p) => {
      const status = p.status === "ok" || p.status === "down" ? p.status : "unknown";
      const item = el("span", "printer " + status);
      item.dataset.printer = String(p.id);
      item.dataset.status = status;
      const word = { ok: "正常", down: "离线", unknown: "未知" }[status];
      item.title = `${p.name}：${word}${p.last_error && status === "down" ? "（" + p.last_error + "）" : ""}`;
      item.setAttribute("aria-label", `打印机 ${p.name}：${word}`);
      item.append(el("span", "dot"), el("span", "pname", p.name));
      return item;
    }));
    renderSubbar();
    const down = onBoard ? list.filter((p) => p.status === "down") : [];
    $("printer-alert").hidden = down.length === 0;
    $("printer-alert-text").textContent = down.length ? "打印机离线: " + down.map((p) => p.name).join("、") : "";
    const owed = down.filter((p) => Number(p.unprinted) > 0);
    let more = "";
    if (down.length === 1 && owed.length === 1) more = `${owed[0].unprinted} 张单没打出来，`;
    else if (owed.length) more = "没打出来：" + owed.map((p) => `${p.name} ${p.unprinted} 张`).join("、") + "；";
    $("printer-alert-more").textContent = down.length ? more + "请看屏幕出餐；打印机恢复后会自动补打。" : "";
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
      S.gone = S.gone.filter((g) => !S.seen.has(g.id)); // back on the board
      S.tickets = items;
      render();
      renderUndo();
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
      const out = await api("POST", `/kitchen/tickets/${t.id}/${how}`);
      if (how === "bump" && out && GONE.has(out.state)) {
        S.gone = [{ id: t.id, pickup_no: t.pickup_no }, ...S.gone.filter((g) => g.id !== t.id)].slice(0, 5);
      }
      if (how === "recall") {
        S.gone = S.gone.filter((g) => g.id !== t.id);
        if (S.seen) S.seen.add(t.id); // coming back is no new ticket: no sound, no flash
      }
      renderUndo();
    } catch (e) {
      if (e.status !== 401) showAlert(`${t.pickup_no}：${e.message}`);
    } finally {
      S.busy.delete(t.id);
      reload();
    }
  }
  function renderUndo() {
    const b = $("undo");
    const g = S.gone[0];
    b.hidden = !g || $("board").hidden;
    if (!g) return;
    b.textContent = "撤回 " + g.pickup_no;
    b.setAttribute("aria-label", `撤回刚取走的取餐号 ${g.pickup_no}`);
  }

  // dayLabel names the meal of a ticket that is not for today: "11月26日 午餐".
  function dayLabel(t) {
    const [, m, d] = String(t.day).split("-").map(Number);
    return `${m}月${d}日 ${{ breakfast: "早餐", lunch: "午餐", dinner: "晚餐" }[t.period] || t.period}`;
  }
  function ageClass(mins) { return mins >= RED ? "age-red" : mins >= AMBER ? "age-amber" : "age-ok"; }
  function render() {
    const cols = { new: [], preparing: [], ready: [] };
    for (const t of S.tickets) {
      const c = COLUMNS[t.state];
      if (!c) continue;
      const lines = linesShown(t);
      if (S.station && lines.length === 0) continue; // nothing for this station
      cols[c].push([t, lines]); // the API lists them oldest first
    }
    // 优先 tickets go first while they wait; the sort keeps the rest oldest first.
    for (const name of ["new", "preparing"]) cols[name].sort((a, b) => Number(!!b[0].elder_priority) - Number(!!a[0].elder_priority));
    for (const [name, list] of Object.entries(cols)) {
      $("n-" + name).textContent = String(list.length);
      $("c-" + name).replaceChildren(...list.map(([t, lines]) => card(t, lines)));
    }
    tickAges();
  }
  function card(t, lines) {
    const li = el("li", "card");
    li.dataset.ticket = String(t.id);
    li.dataset.state = t.state;
    li.dataset.created = t.created_at;
    if (t.elder_priority) li.classList.add("priority");
    if (t.delivery) li.classList.add("delivery");
    if (S.fresh.has(t.id)) {
      li.classList.add("flash");
      setTimeout(() => S.fresh.delete(t.id), 6000);
    }
    if (S.busy.has(t.id)) li.classList.add("busy");
    const next = { new: "开始制作", preparing: "做好了", ready: t.delivery ? "送出" : "已取餐", out_for_delivery: "已送达" }[t.state];
    const flags = [t.elder_priority ? "优先" : "", t.delivery ? "送餐" : ""].filter(Boolean).join("，");
    li.tabIndex = 0;
    li.setAttribute("role", "button");
    li.setAttribute("aria-label", `取餐号 ${t.pickup_no}${flags ? "，" + flags : ""}，点一下：${next}`);
    li.addEventListener("click", () => move(t, "bump"));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); move(t, "bump"); } });

    const head = el("div", "card-head");
    head.append(el("span", "pickup", t.pickup_no));
    if (t.elder_priority) head.append(el("span", "flag priority", "优先"));
    if (t.delivery) head.append(el("span", "flag delivery", "送餐"));
    if (t.day && t.day !== today()) head.append(el("span", "flag day", dayLabel(t)));
    if (t.state === "out_for_delivery") head.append(el("span", "flag", "配送中"));
    if (t.reprints > 0) head.append(el("span", "flag muted", `补打 ${t.reprints}`));
    head.append(el("span", "age", ""));
    li.append(head);

    const ul = el("ul", "lines");
    for (const l of lines) {
      const row = el("li", "line");
      row.append(el("span", "dish", l.name), el("span", "qty", "× " + l.qty));
      if (l.note) row.append(el("span", "note", l.note));
      ul.append(row);
    }
    li.append(ul);
    const others = (t.lines || []).length - lines.length;
    if (others > 0) li.append(el("p", "others", `另有 ${others} 个菜在其他档口`));
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
    S.live = false;
    if (S.es) { S.es.close(); S.es = null; }
  }
  function openStream() {
    closeStream();
    if (!S.canteen || !S.token) return;
    setConn("wait", "连接中…");
    const url = `/api/v1/kitchen/canteens/${S.canteen.id}/stream?access_token=${encodeURIComponent(S.token)}`;
    const es = new EventSource(url);
    S.es = es;
    es.addEventListener("open", () => { S.retry = 0; S.live = true; setConn("on", "实时连接"); reload(); loadPrinters(); });
    es.addEventListener("ticket", soon);
    es.addEventListener("reload", soon);
    es.addEventListener("printer", onPrinter);
    es.addEventListener("error", () => {
      if (S.es !== es) return;
      S.live = false;
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
  $("remember").addEventListener("change", rememberToggled);
  $("logout").addEventListener("click", logoutClick);
  $("switch").addEventListener("click", () => { closeStream(); S.canteen = null; localStorage.removeItem(CANTEEN_KEY); start(); });
  $("sound").addEventListener("click", unlockAudio);
  $("undo").addEventListener("click", () => { const g = S.gone[0]; if (g) move(g, "recall"); });
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  setInterval(clock, 1000);
  // A safety net: every minute while live, every 5 seconds while the stream is down.
  let ticks = 0;
  setInterval(() => {
    ticks++;
    if (!S.canteen || document.hidden) return;
    if (!S.live || ticks % 12 === 0) reload();
    if (ticks % 12 === 0) loadPrinters();
  }, 5000);
  clock();
  start();
})();
