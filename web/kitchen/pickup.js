// The dining room's pickup board: the ready pickup numbers of one canteen, from the public
// pickup API every 3 seconds. /pickup/?community=1&canteen=1
"use strict";

(() => {
  const params = new URLSearchParams(location.search);
  const community = Number(params.get("community"));
  const canteen = Number(params.get("canteen"));
  const $ = (id) => document.getElementById(id);
  let skew = 0;
  let shown = null; // numbers on the board; null before the first poll

  function conn(kind, text) {
    $("conn").className = "conn " + kind;
    $("conn").textContent = text;
  }
  async function poll() {
    try {
      const resp = await fetch(`/api/v1/communities/${community}/canteens/${canteen}/pickup`, { cache: "no-store" });
      const date = Date.parse(resp.headers.get("Date") || "");
      if (Number.isFinite(date)) skew = date - Date.now();
      if (!resp.ok) throw new Error(String(resp.status));
      const data = await resp.json();
      const ready = data.ready || [];
      const ul = $("numbers");
      ul.replaceChildren(...ready.map((n) => {
        const li = document.createElement("li");
        li.className = shown && !shown.has(n) ? "number new" : "number"; // a number just called flashes
        li.textContent = n;
        return li;
      }));
      shown = new Set(ready);
      ul.classList.toggle("many", ready.length > 8);
      $("empty").hidden = ready.length > 0;
      conn("on", "已更新");
    } catch (_) {
      conn("wait", "重新连接中…");
    }
  }
  function clock() {
    $("clock").textContent = new Date(Date.now() + skew).toLocaleTimeString("zh-CN", { hour12: false, hour: "2-digit", minute: "2-digit", timeZone: "Asia/Shanghai" });
  }
  if (!(community > 0 && canteen > 0)) {
    $("alert").textContent = "地址缺少参数：/pickup/?community=社区编号&canteen=食堂编号";
    $("alert").hidden = false;
    return;
  }
  setInterval(poll, 3000);
  setInterval(clock, 1000);
  clock();
  poll();
})();
