/* The agent console: queue, my conversations, one chat with its whole history, and the actions.
   Data comes from /api/console; live changes arrive on the WebSocket and make the lists reload. */
"use strict";

(() => {
  const { $, el, api, toast, fmtWait, fmtTime, slaOf, SLA_LABEL } = Console;
  const STATUS_LABEL = { queued: "排队中", agent: "服务中", closed: "已结束" };
  const DIR_LABEL = { customer: "客户", agent: "坐席", note: "内部备注", system: "系统", bot: "机器人" };
  const GROUP_LABEL = { claims: "理赔", complaints: "投诉", general: "综合" };
  const DELIVERY_LABEL = { pending: "发送中", sent: "已送达", failed: "发送失败" };

  const state = { me: null, queue: [], mine: [], fetchedAt: 0, current: null, view: null,
                  canned: [], dispositions: [] };

  // --- lists ------------------------------------------------------------------------------------

  async function loadLists() {
    try {
      const [q, m] = await Promise.all([api("GET", "/api/console/queue"), api("GET", "/api/console/mine")]);
      state.queue = q.items;
      state.mine = m.items;
      state.fetchedAt = Date.now();
      renderLists();
    } catch (e) {
      if (e.status !== 401) toast(e.message, "error");
    }
  }

  function itemNode(it, mine) {
    const li = el("li", { class: "item", tabindex: "0", dataset: { id: String(it.id), waitS: String(it.wait_s),
                                                                     sla: it.sla, escalated: it.escalated ? "1" : "" } },
      el("div", { class: "line1" },
        el("span", { class: "customer", text: it.customer }),
        el("span", { class: "wait", text: fmtWait(it.wait_s) })),
      el("div", { class: "line2" },
        el("span", { class: "sla-label" }),
        el("span", { class: "group", text: GROUP_LABEL[it.skill_group] || it.skill_group }),
        it.priority <= 1 ? el("span", { class: "prio", text: it.priority === 0 ? "紧急" : "投诉" }) : null,
        mine && it.unread > 0 ? el("span", { class: "unread", text: String(it.unread) }) : null),
      el("div", { class: "snippet", text: it.snippet || it.reason || "" }));
    li.addEventListener("click", () => open(it.id));
    li.addEventListener("keydown", (ev) => { if (ev.key === "Enter") open(it.id); });
    if (state.current === it.id) li.classList.add("selected");
    return li;
  }

  function renderLists() {
    // oldest first
    const queue = [...state.queue].sort((a, b) => b.wait_s - a.wait_s);
    $("#queue").replaceChildren(...queue.map((it) => itemNode(it, false)));
    $("#mine").replaceChildren(...state.mine.map((it) => itemNode(it, true)));
    $("#queue-count").textContent = String(state.queue.length);
    const unread = state.mine.reduce((n, it) => n + (it.unread || 0), 0);
    $("#mine-count").textContent = String(state.mine.length);
    document.title = (unread ? "(" + unread + ") " : "") + "人工客服工作台";
    tick();
  }

  /* Every second: waits grow and SLA colours follow (green < 2 min, amber 2–3 min, red ≥ 3 min). */
  function tick() {
    const extra = (Date.now() - state.fetchedAt) / 1000;
    for (const li of document.querySelectorAll("#queue .item, #mine .item")) {
      const wait = Number(li.dataset.waitS) + extra;
      const sla = slaOf(wait, li.dataset.escalated === "1", li.dataset.sla);
      li.querySelector(".wait").textContent = fmtWait(wait);
      li.classList.remove("sla-ok", "sla-warn", "sla-breach");
      li.classList.add("sla-" + sla);
      li.querySelector(".sla-label").textContent = SLA_LABEL[sla];
    }
  }

  // --- one conversation ---------------------------------------------------------------------------

  async function open(id, quiet) {
    state.current = id;
    try {
      state.view = await api("GET", "/api/console/conversations/" + id);
    } catch (e) {
      if (!quiet) toast(e.message, "error");
      return false;
    }
    renderChat();
    for (const li of document.querySelectorAll(".item")) li.classList.toggle("selected", li.dataset.id === String(id));
    location.hash = "c=" + id;
    return true;
  }

  // A chat this agent may no longer see (a colleague took it): the view closes, the toast says why.
  function closeChat() {
    state.current = null;
    state.view = null;
    $("#chat-status").textContent = "";
    $("#chat").hidden = true;
    $("#empty").hidden = false;
    location.hash = "";
    document.dispatchEvent(new CustomEvent("chat:closed"));
  }

  function renderChat() {
    const v = state.view;
    if (!v) return;
    const h = v.handoff;
    $("#empty").hidden = true;
    $("#chat").hidden = false;
    $("#chat").dataset.id = String(h.id);
    $("#chat").dataset.status = h.status;
    $("#chat-customer").textContent = v.customer.label;
    $("#chat-status").textContent = STATUS_LABEL[h.status] || h.status;
    const sla = slaOf(h.wait_s, h.escalated, h.sla);
    $("#chat-sla").textContent = SLA_LABEL[sla];
    $("#chat-sla").className = "sla sla-" + sla;
    const mineNow = h.agent_id === state.me.id;
    $("#take").hidden = h.status !== "queued" && !(state.me.role !== "agent" && h.status === "agent" && !mineNow);
    $("#take").textContent = h.status === "queued" ? "接入" : "接管";
    $("#transfer-open").disabled = h.status === "closed";
    $("#close-open").disabled = h.status === "closed";
    $("#send").disabled = !(mineNow && h.status === "agent");
    $("#messages").replaceChildren(...v.messages.map(msgNode));
    const box = $("#messages");
    box.scrollTop = box.scrollHeight;
    const c = v.customer;
    $("#profile").replaceChildren(
      el("dt", { text: "称呼" }), el("dd", { text: c.name || c.label }),
      el("dt", { text: "电话" }), el("dd", { text: c.phone || "—" }),
      el("dt", { text: "年龄" }), el("dd", { text: c.age ? c.age + "岁" : "—" }),
      el("dt", { text: "转人工原因" }), el("dd", { text: h.reason }),
      el("dt", { text: "技能组" }), el("dd", { text: GROUP_LABEL[h.skill_group] || h.skill_group }));
    const cases = (list) => list.length ? list.map((x) => el("li", { text: "#" + x.id + " " + x.title + "（" + x.status + "）" }))
                                         : [el("li", { class: "muted", text: "无" })];
    $("#claims").replaceChildren(...cases(v.claims));
    $("#complaints").replaceChildren(...cases(v.complaints));
    document.dispatchEvent(new CustomEvent("chat:rendered", { detail: v }));  // the case actions panel
  }

  function msgNode(m) {
    const meta = [DIR_LABEL[m.direction] || m.direction, fmtTime(m.at)];
    if (m.intent) meta.push("意图 " + m.intent + (m.confidence != null ? "（" + Math.round(m.confidence * 100) + "%）" : ""));
    if (m.delivery && DELIVERY_LABEL[m.delivery]) meta.push(DELIVERY_LABEL[m.delivery]);
    return el("li", { class: "msg msg-" + m.direction, dataset: { direction: m.direction } },
      el("div", { class: "meta", text: meta.join(" · ") }),
      el("div", { class: "text", text: m.text }),
      m.delivery_error ? el("div", { class: "error", text: m.delivery_error }) : null);
  }

  async function act(path, body, done) {
    if (!state.current) return null;
    try {
      const out = await api("POST", "/api/console/conversations/" + state.current + "/" + path, body);
      if (done) toast(done, "ok");
      await Promise.all([open(state.current), loadLists()]);
      return out;
    } catch (e) {
      toast(e.message, "error");
      if (e.code === "already_taken") {
        await loadLists();
        if (state.current && !(await open(state.current, true))) closeChat();
      }
      return null;
    }
  }

  async function send() {
    const box = $("#reply");
    const text = box.value.trim();
    if (!text || $("#send").disabled) return;
    box.value = "";  // at once: what the agent types next must not be wiped when the answer comes
    const out = await act("reply", { text });
    if (!out && !box.value) box.value = text;  // not sent: the text comes back
  }

  async function note() {
    const box = $("#reply");
    const text = box.value.trim();
    if (!text) { toast("先在输入框写好备注，再按“写备注”", "info"); box.focus(); return; }
    box.value = "";
    const out = await act("note", { text }, "备注已保存（客户看不到）");
    if (!out && !box.value) box.value = text;
  }

  // --- canned replies: typing "/" opens the picker -----------------------------------------------

  function updateCanned() {
    const box = $("#reply");
    const list = $("#canned");
    const v = box.value;
    if (!v.startsWith("/")) { list.hidden = true; return; }
    const q = v.slice(1).trim();
    const hits = state.canned.filter((c) => !q || c.title.includes(q) || c.key.includes(q) || c.text.includes(q));
    list.replaceChildren(...hits.map((c, i) => el("li", { class: i === 0 ? "active" : "", tabindex: "-1",
                                                          dataset: { key: c.key }, onclick: () => pickCanned(c) },
      el("strong", { text: c.title }), " ", el("span", { text: c.text }))));
    list.hidden = hits.length === 0;
  }

  function pickCanned(c) {
    $("#reply").value = c.text;
    $("#canned").hidden = true;
    $("#reply").focus();
  }

  function cannedKey(ev) {
    const list = $("#canned");
    if (list.hidden) return false;
    const items = [...list.children];
    let i = items.findIndex((x) => x.classList.contains("active"));
    if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
      items[i]?.classList.remove("active");
      i = (i + (ev.key === "ArrowDown" ? 1 : items.length - 1)) % items.length;
      items[i].classList.add("active");
      return true;
    }
    if (ev.key === "Enter" && !ev.ctrlKey) {
      const c = state.canned.find((x) => x.key === items[i]?.dataset.key);
      if (c) pickCanned(c);
      return true;
    }
    if (ev.key === "Escape") { list.hidden = true; return true; }
    return false;
  }

  // --- transfer / close dialogs ---------------------------------------------------------------------

  async function openTransfer() {
    if (!state.current || $("#transfer-open").disabled) return;
    const sel = $("#transfer-form [name=to_agent_id]");
    sel.replaceChildren(el("option", { value: "", text: "（不选）" }));
    if (state.me.role !== "agent") {
      try {
        const agents = await api("GET", "/api/console/agents");
        for (const a of agents.items) {
          sel.append(el("option", { value: String(a.staff_id),
                                    text: (a.username || "#" + a.staff_id) + " " + a.load + "/" + a.capacity }));
        }
      } catch (e) { /* agents list is for supervisors; groups still work */ }
    }
    $("#transfer-error").textContent = "";
    $("#transfer-dialog").showModal();
  }

  async function submitTransfer(ev) {
    ev.preventDefault();
    const fd = new FormData($("#transfer-form"));
    const body = { note: String(fd.get("note") || "").trim() };
    if (fd.get("to_agent_id")) body.to_agent_id = Number(fd.get("to_agent_id"));
    else if (fd.get("to_group")) body.to_group = fd.get("to_group");
    if (!body.note) { $("#transfer-error").textContent = "请写转接附言"; return; }
    if (!body.to_agent_id && !body.to_group) { $("#transfer-error").textContent = "请选择技能组或坐席"; return; }
    const out = await act("transfer", body, "已转接");
    if (out) { $("#transfer-dialog").close(); $("#transfer-form").reset(); }
  }

  function openClose() {
    if (!state.current || $("#close-open").disabled) return;
    $("#close-error").textContent = "";
    // after creating a complaint or a claim from this chat, the disposition says so by default
    const created = typeof ConsoleCases !== "undefined" && ConsoleCases.defaultDisposition();
    if (created && state.dispositions.some((d) => d.key === created)) $("#close-form [name=disposition]").value = created;
    $("#close-dialog").showModal();
    $("#close-form [name=summary]").focus();
  }

  async function submitClose(ev) {
    ev.preventDefault();
    const fd = new FormData($("#close-form"));
    const body = { disposition: String(fd.get("disposition") || ""), summary: String(fd.get("summary") || "").trim() };
    if (!body.summary) { $("#close-error").textContent = "请写服务小结"; return; }
    const out = await act("close", body, "会话已结束，已请客户评价");
    if (out) { $("#close-dialog").close(); $("#close-form").reset(); }
  }

  // --- keyboard -------------------------------------------------------------------------------------

  function step(delta) {
    const ids = [...document.querySelectorAll("#mine .item, #queue .item")].map((li) => Number(li.dataset.id));
    if (!ids.length) return;
    const i = ids.indexOf(state.current);
    open(ids[(i + delta + ids.length) % ids.length]);
  }

  function onKey(ev) {
    const t = ev.target;
    const typing = t instanceof HTMLInputElement || t instanceof HTMLTextAreaElement || t instanceof HTMLSelectElement;
    if (t.id === "reply") {
      if (cannedKey(ev)) { ev.preventDefault(); return; }
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); send(); }
      return;
    }
    if (typing || ev.ctrlKey || ev.metaKey || ev.altKey || document.querySelector("dialog[open]")) return;
    const k = ev.key.toLowerCase();
    if (k === "j") step(1);
    else if (k === "k") step(-1);
    else if (k === "e") { ev.preventDefault(); openClose(); }
    else if (k === "t") { ev.preventDefault(); openTransfer(); }
    else if (k === "c" && typeof ConsoleCases !== "undefined") { ev.preventDefault(); ConsoleCases.openComplaint(); }
    else if (k === "b" && typeof ConsoleCases !== "undefined") { ev.preventDefault(); ConsoleCases.openClaim(); }
    else if (k === "p") { ev.preventDefault(); $("#reply").focus(); toast("写好后按“写备注”保存，客户看不到备注", "info"); }
    else return;
  }

  // --- presence and live updates ---------------------------------------------------------------------

  async function setPresence() {
    try {
      await api("POST", "/api/console/presence", { state: $("#presence").value });
      sessionStorage.setItem("console_presence", $("#presence").value);
      toast("状态已改为" + $("#presence").selectedOptions[0].textContent, "ok");
      await loadLists();
    } catch (e) { toast(e.message, "error"); }
  }

  let reloadTimer = null;
  function onEvent(ev) {
    clearTimeout(reloadTimer);
    reloadTimer = setTimeout(loadLists, 150);
    const hid = ev.data && ev.data.handoff_id;
    if (hid && hid === state.current) open(hid);
  }

  async function ready(me) {
    state.me = me;
    try {
      const canned = await api("GET", "/api/console/canned");
      state.canned = canned.items;
      state.dispositions = canned.dispositions;
      $("#close-form [name=disposition]").replaceChildren(
        ...canned.dispositions.map((d) => el("option", { value: d.key, text: d.title })));
    } catch (e) { /* the pickers stay empty */ }
    // A new page starts 离开 (no chats routed) until the agent says 在线; a reload keeps the choice.
    const chosen = sessionStorage.getItem("console_presence");
    $("#presence").value = chosen || "away";
    api("POST", "/api/console/heartbeat").catch(() => {});
    if (chosen) api("POST", "/api/console/presence", { state: chosen }).catch(() => {});
    await loadLists();
    setInterval(tick, 1000);
    setInterval(() => api("POST", "/api/console/heartbeat").catch(() => {}), 20000);
    setInterval(loadLists, 5000);  // besides the live events: a missed event costs at most 5 s
    Console.live(onEvent, loadLists);
    const m = /c=(\d+)/.exec(location.hash);
    if (m) open(Number(m[1]));
  }

  // for the case actions panel (console_cases.js): reload the open chat and the lists after an action
  window.ConsoleChat = { refresh: () => (state.current ? Promise.all([open(state.current), loadLists()]) : loadLists()) };

  document.addEventListener("DOMContentLoaded", () => {
    $("#send").addEventListener("click", send);
    $("#note").addEventListener("click", note);
    $("#take").addEventListener("click", () => act("take", undefined, "已接入"));
    $("#transfer-open").addEventListener("click", openTransfer);
    $("#close-open").addEventListener("click", openClose);
    $("#transfer-form").addEventListener("submit", submitTransfer);
    $("#close-form").addEventListener("submit", submitClose);
    for (const b of document.querySelectorAll("dialog .cancel")) b.addEventListener("click", () => b.closest("dialog").close());
    $("#reply").addEventListener("input", updateCanned);
    $("#presence").addEventListener("change", setPresence);
    document.addEventListener("keydown", onKey);
    Console.start(ready);
  });
})();
