/* The console's 待办: call-backs customers left (outside service hours they show the next working morning),
   low ratings to follow up (supervisors), and requests to change a phone number, bank card or address.
   Take one (one person owns it), then 办完 with an outcome and a short note. A taken call-back opens in the
   chat view, where the agent may also write to the customer. Live events and a 5-second poll reload it. */
"use strict";

(() => {
  const { $, el, api, toast } = Console;
  const GROUP_LABEL = { claims: "理赔", complaints: "投诉", general: "综合" };
  const state = { items: [], outcomes: [], fetchedAt: 0, finishing: null, started: false };

  /* Waits of hours or days read as such (an overnight call-back waits from 08:30, not from the night). */
  function since(s) {
    const m = Math.floor(Math.max(0, s) / 60);
    if (m < 60) return m + "分钟";
    if (m < 24 * 60) return Math.floor(m / 60) + "小时" + (m % 60) + "分";
    return Math.floor(m / 1440) + "天" + Math.floor((m % 1440) / 60) + "小时";
  }

  // When it was left, in China time (the customer may have left it last night or before a holiday).
  function when(iso) {
    return new Date(iso).toLocaleString("zh-CN", { timeZone: "Asia/Shanghai", month: "numeric", day: "numeric",
                                                   hour: "2-digit", minute: "2-digit", hour12: false });
  }

  const me = () => (window.ConsoleChat && ConsoleChat.me()) || {};

  async function load() {
    try {
      const out = await api("GET", "/api/console/work-items");
      state.items = out.items;
      state.outcomes = out.outcomes;
      state.fetchedAt = Date.now();
      render();
    } catch (e) {
      if (e.status !== 401) toast(e.message, "error");
    }
  }

  function node(it) {
    const mine = it.status === "agent" && it.agent_id === me().id;
    const who = it.status === "queued" ? "待接" : mine ? "我在办" : "由 " + (it.taken_by || "#" + it.agent_id) + " 在办";
    const buttons = [];
    if (it.status === "queued") {
      buttons.push(el("button", { type: "button", class: "take-work", onclick: () => take(it.id) }, "接"));
    } else if (mine || me().role !== "agent") {
      if (it.reason === "callback") {
        buttons.push(el("button", { type: "button", class: "open-work cancel", onclick: () => ConsoleChat.open(it.id) },
                        "看对话"));
      }
      buttons.push(el("button", { type: "button", class: "finish-work", onclick: () => openFinish(it) }, "办完"));
    }
    return el("li", { class: "work-item kind-" + it.reason + (mine ? " mine" : ""),
                      dataset: { id: String(it.id), status: it.status, waitS: String(it.wait_s) } },
      el("div", { class: "line1" },
        el("span", { class: "kind", text: it.kind }),
        el("span", { class: "customer", text: it.customer }),
        el("span", { class: "wait", title: "到期以来等了多久" })),
      el("div", { class: "said", text: it.said || "（客户没有留话）" }),
      el("div", { class: "line2" },
        el("span", { class: "muted", text: "留于 " + when(it.left_at) }),
        el("span", { class: "group", text: GROUP_LABEL[it.skill_group] || it.skill_group }),
        el("span", { class: "who", text: who })),
      it.about_agent ? el("div", { class: "about", text: "评价的是客服 " + it.about_agent }) : null,
      buttons.length ? el("div", { class: "work-actions" }, ...buttons) : null);
  }

  function render() {
    $("#work").replaceChildren(...state.items.map(node));
    if (!state.items.length) $("#work").append(el("li", { class: "muted", text: "没有待办" }));
    $("#work-count").textContent = String(state.items.length);
    tick();
  }

  function tick() {
    const extra = (Date.now() - state.fetchedAt) / 1000;
    for (const li of document.querySelectorAll("#work .work-item")) {
      li.querySelector(".wait").textContent = "等了 " + since(Number(li.dataset.waitS) + extra);
    }
  }

  async function take(id) {
    try {
      const it = await api("POST", "/api/console/work-items/" + id + "/take");
      toast(it.reason === "callback" ? "已接这条待办。打完电话点“办完”" : "已接这条待办，办好后点“办完”", "ok");
    } catch (e) {
      toast(e.message, "error");  // e.g. 这条待办已经被别的同事接了
    }
    await load();
  }

  function openFinish(it) {
    state.finishing = it.id;
    $("#finish-what").textContent = it.kind + " · " + it.customer;
    const box = $("#finish-outcomes");
    box.replaceChildren(...state.outcomes.map((o, i) => el("label", { class: "inline" },
      el("input", { type: "radio", name: "outcome", value: o.key, required: true, checked: i === 0 }), " " + o.title)));
    $("#finish-error").textContent = "";
    $("#finish-dialog").showModal();
    $("#finish-form [name=note]").focus();
  }

  async function submitFinish(ev) {
    ev.preventDefault();
    const fd = new FormData($("#finish-form"));
    const body = { outcome: String(fd.get("outcome") || ""), note: String(fd.get("note") || "").trim() };
    if (!body.outcome) { $("#finish-error").textContent = "请选结果"; return; }
    if (!body.note) { $("#finish-error").textContent = "请写一句说明"; return; }
    try {
      await api("POST", "/api/console/work-items/" + state.finishing + "/finish", body);
      $("#finish-dialog").close();
      $("#finish-form").reset();
      toast("这条待办已办完", "ok");
    } catch (e) {
      $("#finish-error").textContent = e.message;
    }
    await load();
  }

  let reloadTimer = null;
  document.addEventListener("chat:event", () => {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(load, 150);
  });
  document.addEventListener("console:ready", () => {
    load();
    if (state.started) return;
    state.started = true;
    setInterval(tick, 1000);
    setInterval(load, 5000);  // a call-back left overnight falls due in the morning without an event here
  });
  document.addEventListener("DOMContentLoaded", () => {
    $("#finish-form").addEventListener("submit", submitFinish);
  });
})();
