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
                  canned: [], dispositions: [], picture: null };

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
    if (state.current !== id) {
      dropPicture();  // a picture chosen for one chat never goes to another
      thumbs.clear();
    }
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
    dropPicture();
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
    // a work item (call-back, follow-up, data change) is finished from the 待办 list (办完), not here
    const workItem = ["callback", "follow_up", "info_update"].includes(h.reason);
    $("#transfer-open").disabled = h.status === "closed" || workItem;
    $("#close-open").disabled = h.status === "closed" || workItem;
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

  /* One <img> per picture while its chat is open: the history is redrawn on every live event, and a
     moved element keeps its loaded picture (each load is an audited read, and is never cached). */
  const thumbs = new Map();
  function thumb(url) {
    let img = thumbs.get(url);
    if (!img) {
      img = el("img", { class: "thumb", src: url, alt: "图片" });
      thumbs.set(url, img);
    }
    return img;
  }

  function msgNode(m) {
    const meta = [DIR_LABEL[m.direction] || m.direction, fmtTime(m.at)];
    if (m.intent) meta.push("意图 " + m.intent + (m.confidence != null ? "（" + Math.round(m.confidence * 100) + "%）" : ""));
    if (m.image_url) meta.push("图片");
    if (m.delivery && DELIVERY_LABEL[m.delivery]) meta.push(DELIVERY_LABEL[m.delivery]);
    // A picture: a thumbnail through the console's own (logged-in, audited) route; click for full size.
    const body = m.image_url
      ? el("a", { href: m.image_url, target: "_blank", rel: "noopener", title: "点开看大图" }, thumb(m.image_url))
      : el("div", { class: "text", text: m.text });
    return el("li", { class: "msg msg-" + m.direction + (m.image_url ? " msg-picture" : ""),
                      dataset: { direction: m.direction, kind: m.kind || "text" } },
      el("div", { class: "meta", text: meta.join(" · ") }),
      body,
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

  // --- pictures: the attach button, paste or drop; a preview, then "发送" sends it ------------------

  const PICTURE_TYPES = ["image/jpeg", "image/png"];
  const PICTURE_MAX = 10 * 1024 * 1024;  // WeChat's limit for an image; the server checks the content too

  function pickPicture(file) {
    $("#picture-input").value = "";  // the same file may be chosen again after a refusal
    if (!file) return;
    if (!canAnswer()) { toast("先接入这个会话，才能发图片", "info"); return; }
    if (!PICTURE_TYPES.includes(file.type)) { toast("只能发送 JPG 或 PNG 图片", "error"); return; }
    if (file.size > PICTURE_MAX) { toast("图片太大了，最大10MB", "error"); return; }
    if (file.size === 0) { toast("没有收到图片，请重新选择", "error"); return; }
    state.picture = file;
    const reader = new FileReader();  // a data: URL (the page's CSP allows data: images, not blob:)
    reader.addEventListener("load", () => { $("#picture-thumb").src = String(reader.result); });
    reader.readAsDataURL(file);
    $("#picture-info").textContent = (file.name || "粘贴的图片") + "（" + Math.max(1, Math.round(file.size / 1024)) + " KB）按“发送”发给客户";
    $("#picture-preview").hidden = false;
    $("#reply").focus();  // Ctrl+Enter sends it (with any text typed)
  }

  // The open chat (its view loaded) is this agent's, or a supervisor's who took it over.
  function canAnswer() {
    const h = state.view && state.view.handoff;
    return !!h && h.id === state.current && h.status === "agent" && h.agent_id === state.me.id;
  }

  function dropPicture() {
    state.picture = null;
    $("#picture-preview").hidden = true;
    $("#picture-thumb").removeAttribute("src");
    $("#picture-input").value = "";
  }

  async function sendPicture() {
    const file = state.picture;
    if (!file || !state.current) return false;
    const fd = new FormData();
    fd.append("file", file, file.name || "picture");
    dropPicture();
    const out = await act("picture", fd, "图片已发送");
    if (!out) pickPicture(file);  // not sent: the preview comes back
    return !!out;
  }

  function firstImage(items) {
    for (const it of items || []) {
      if (it.kind === "file" && it.type.startsWith("image/")) return it.getAsFile();
    }
    return null;
  }

  function wirePictures() {
    $("#attach").addEventListener("click", () => $("#picture-input").click());
    $("#picture-input").addEventListener("change", (ev) => pickPicture(ev.target.files[0]));
    $("#picture-cancel").addEventListener("click", dropPicture);
    $("#reply").addEventListener("paste", (ev) => {
      const file = firstImage(ev.clipboardData && ev.clipboardData.items);
      if (file) { ev.preventDefault(); pickPicture(file); }
    });
    const zone = $(".compose");
    zone.addEventListener("dragover", (ev) => { ev.preventDefault(); zone.classList.add("dragging"); });
    zone.addEventListener("dragleave", () => zone.classList.remove("dragging"));
    zone.addEventListener("drop", (ev) => {
      ev.preventDefault();
      zone.classList.remove("dragging");
      const files = ev.dataTransfer && ev.dataTransfer.files;
      if (files && files.length) pickPicture(files[0]);
    });
  }

  async function send() {
    const box = $("#reply");
    if (state.picture && canAnswer()) {
      if (!(await sendPicture())) return;
    }
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
      if (ev.altKey && ev.key.toLowerCase() === "a") { ev.preventDefault(); $("#attach").click(); return; }
      if (cannedKey(ev)) { ev.preventDefault(); return; }
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); send(); }
      return;
    }
    if (ev.altKey && !ev.ctrlKey && ev.key.toLowerCase() === "a" && !document.querySelector("dialog[open]")) {
      ev.preventDefault();
      $("#attach").click();
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
    document.dispatchEvent(new CustomEvent("chat:event", { detail: ev }));  // e.g. the side panel's cases
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
    document.dispatchEvent(new CustomEvent("console:ready", { detail: me }));  // the 待办 list loads
    const m = /c=(\d+)/.exec(location.hash);
    if (m) open(Number(m[1]));
  }

  // for the case actions panel (console_cases.js): reload the open chat and the lists after an action
  window.ConsoleChat = { refresh: () => (state.current ? Promise.all([open(state.current), loadLists()]) : loadLists()),
                         open: (id) => open(id), me: () => state.me };  // open/me: the 待办 list (console_work.js)

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
    wirePictures();
    document.addEventListener("keydown", onKey);
    Console.start(ready);
  });
})();
