/* Shared by the console and the dashboard: login, API calls with the CSRF header, the live socket.
   No data is kept in the page beyond the CSRF token (sessionStorage); the session is an HttpOnly cookie. */
"use strict";

const Console = (() => {
  const CSRF_KEY = "console_csrf";
  const STAFF_KEY = "console_staff";
  const ROLE_LABEL = { agent: "坐席", supervisor: "主管", admin: "管理员" };

  function $(sel, root) { return (root || document).querySelector(sel); }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (k === "dataset") Object.assign(node.dataset, v);
      else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  /* `body`: an object (sent as JSON) or FormData (multipart: a file upload). */
  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
    const form = body instanceof FormData;
    if (method !== "GET") {
      headers["X-CSRF-Token"] = sessionStorage.getItem(CSRF_KEY) || "";
      if (!form) headers["Content-Type"] = "application/json";
    }
    const res = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : form ? body : JSON.stringify(body),
    });
    let data = null;
    try { data = await res.json(); } catch (e) { data = null; }
    if (!res.ok) {
      const err = (data && data.error) || {};
      if (res.status === 401 && path !== "/api/console/login") showLogin();
      throw new ApiError(res.status, err.code || "http_" + res.status, err.message || "出错了，请重试");
    }
    return data;
  }

  let toastTimer = null;
  function toast(text, kind) {
    const box = $("#toast");
    box.textContent = text;
    box.className = "toast " + (kind || "info");
    box.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { box.hidden = true; }, 6000);
  }

  function staff() {
    try { return JSON.parse(sessionStorage.getItem(STAFF_KEY) || "null"); } catch (e) { return null; }
  }

  function showLogin() {
    $("#app").hidden = true;
    $("#login").hidden = false;
    const u = $("#login-form [name=username]");
    if (u) u.focus();
  }

  /* Wire the login form; `onReady(staff)` runs once logged in (now or from an earlier login). */
  function start(onReady) {
    const form = $("#login-form");
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const fd = new FormData(form);
      $("#login-error").textContent = "";
      try {
        const out = await api("POST", "/api/console/login", {
          username: fd.get("username"), password: fd.get("password"), totp: fd.get("totp"),
        });
        sessionStorage.setItem(CSRF_KEY, out.csrf_token);
        sessionStorage.setItem(STAFF_KEY, JSON.stringify(out.staff));
        form.reset();
        enter(out.staff, onReady);
      } catch (e) {
        $("#login-error").textContent = e.message;
      }
    });
    $("#logout").addEventListener("click", async () => {
      try { await api("POST", "/api/console/logout"); } catch (e) { /* already gone */ }
      sessionStorage.removeItem(CSRF_KEY);
      sessionStorage.removeItem(STAFF_KEY);
      location.reload();
    });
    if (sessionStorage.getItem(CSRF_KEY)) {
      api("GET", "/api/console/me").then((me) => enter(me.staff, onReady)).catch(() => showLogin());
    } else {
      showLogin();
    }
  }

  function enter(who, onReady) {
    $("#login").hidden = true;
    $("#app").hidden = false;
    $("#who").textContent = who.username + "（" + (ROLE_LABEL[who.role] || who.role) + "）";
    document.body.dataset.role = who.role;
    onReady(who);
  }

  /* The live channel: events after the last id seen; reconnects with it; "resync" → onResync(). */
  function live(onEvent, onResync) {
    let last = sessionStorage.getItem("console_last_event") || "";
    let socket = null;
    let delay = 500;
    function connect() {
      const proto = location.protocol === "https:" ? "wss:" : "ws:";
      const q = last ? "?after=" + encodeURIComponent(last) : "";
      socket = new WebSocket(proto + "//" + location.host + "/api/console/ws" + q);
      socket.addEventListener("open", () => {
        delay = 500;
        document.body.dataset.live = "on";
        $("#live").textContent = "实时连接正常";
      });
      socket.addEventListener("message", (m) => {
        let msg;
        try { msg = JSON.parse(m.data); } catch (e) { return; }
        if (msg.id) { last = msg.id; sessionStorage.setItem("console_last_event", last); }
        if (msg.type === "resync") onResync();
        else if (msg.type !== "cursor") onEvent(msg);
      });
      socket.addEventListener("close", () => {
        document.body.dataset.live = "off";
        $("#live").textContent = "实时连接断开，正在重连…";
        setTimeout(connect, delay);
        delay = Math.min(delay * 2, 10000);
      });
    }
    connect();
  }

  function fmtWait(s) {
    s = Math.max(0, Math.floor(s));
    const m = Math.floor(s / 60);
    const r = s % 60;
    return m > 0 ? m + "分" + String(r).padStart(2, "0") + "秒" : r + "秒";
  }

  /* SLA state from a wait in seconds: ok < 120 s, warn 120–180 s, breach ≥ 180 s or escalated. */
  function slaOf(waitS, escalated, serverSla) {
    let s = waitS >= 180 ? "breach" : waitS >= 120 ? "warn" : "ok";
    if (escalated || serverSla === "breach") s = "breach";
    else if (serverSla === "warn" && s === "ok") s = "warn";
    return s;
  }
  const SLA_LABEL = { ok: "● 正常", warn: "▲ 将超时", breach: "■ 已超时" };

  function fmtTime(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    return d.toLocaleTimeString("zh-CN", { hour12: false });
  }

  return { $, el, api, toast, start, live, staff, fmtWait, fmtTime, slaOf, SLA_LABEL, ApiError };
})();
