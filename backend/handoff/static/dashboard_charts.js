/* The supervisor dashboard's charts, drawn by the vendored Apache ECharts (static/vendor/echarts-6.1.0):
   today's 15-minute buckets (handoffs, breaches and the share answered within 3 minutes; first-response
   P50/P90 against the 3-minute line), the agents' load, handoff reasons and top intents.
   Each chart is created once and updated with setOption on every refresh, and resized with the window.
   Each has a plain Chinese summary with its numbers: ECharts' aria description (the chart's aria-label)
   and the same text under the chart; the 15-minute numbers are also a table.
   Tooltips are drawn on the canvas (renderMode "richText"): ECharts' HTML tooltips carry inline style
   attributes, which the console's Content-Security-Policy (style-src 'self') refuses. */
"use strict";

const DashboardCharts = (() => {
  const { $, el, fmtWait } = Console;
  const C = { accent: "#0b57d0", breach: "#b00020", ok: "#1b7f3b", p90: "#8a5a00", away: "#9aa0a6",
              spare: "#e3e6ea", ink: "#1a1a1a" };
  const FONT = '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", sans-serif';
  const STATE_LABEL = { online: "在线", busy: "忙碌", away: "离开", offline: "离线" };
  const REASON_LABEL = {
    asked: "客户要求人工", misunderstood: "两次没听懂", angry: "客户生气", complaint: "投诉",
    urgent: "有人受伤", info_update: "修改资料", follow_up: "差评回访", callback: "留言或回电",
    takeover: "人工接管",
  };
  const INTENT_LABEL = {
    human_agent: "转人工", claim_report: "报案", claim_progress: "理赔进度", claim_materials: "理赔材料",
    complaint: "投诉", policy_lookup: "保单查询", product_question: "产品咨询", contact_info: "联系方式",
    info_update: "修改资料", home_visit: "上门服务", greeting: "问候", goodbye: "告别", affirm: "确认",
    deny: "否定", cancel: "取消", out_of_scope: "其他问题",
  };
  const BREACH_MIN = 3;     // the standard: a first human answer within 3 minutes
  const MIN_BUCKETS = 8;    // always show the last 2 hours; earlier only from the day's first handoff
  const charts = {};

  let timeZone;  // the service's (Asia/Shanghai), from the API: the day and its buckets are its
  const hhmm = (iso) => new Date(iso).toLocaleTimeString("zh-CN",
    { hour12: false, hour: "2-digit", minute: "2-digit", timeZone });
  const minutes = (s) => (s === null || s === undefined ? null : Math.round(s / 6) / 10);
  const percent = (x) => (x === null || x === undefined ? null : Math.round(x * 1000) / 10);
  const secsText = (s) => (s === null || s === undefined ? "—" : fmtWait(s));
  const pctText = (x) => (x === null || x === undefined ? "—" : percent(x) + "%");
  const reasonLabel = (k) => REASON_LABEL[k] || k;
  const intentLabel = (k) => INTENT_LABEL[k] || k;
  const base = (summary) => ({
    aria: { enabled: true, label: { enabled: true, description: summary } },
    textStyle: { fontFamily: FONT, fontSize: 13, color: C.ink },
    animationDurationUpdate: 300,
  });
  const empty = (none) => ({
    show: none, text: "暂无数据", left: "center", top: "middle",
    textStyle: { fontSize: 15, fontWeight: "normal", color: C.away },
  });

  /* Today's buckets from the day's first handoff (or the last 2 hours, whichever is longer). */
  function visibleBuckets(buckets) {
    const first = buckets.findIndex((b) => b.handoffs > 0);
    const from = Math.min(first < 0 ? buckets.length : first, Math.max(0, buckets.length - MIN_BUCKETS));
    return buckets.slice(from);
  }

  function chart(id) {
    if (!charts[id]) charts[id] = echarts.init($("#" + id), null, { renderer: "canvas", locale: "ZH" });
    return charts[id];
  }

  function show(id, option, summaryId) {
    const description = option.aria.label.description;
    if (summaryId) $("#" + summaryId).textContent = description;
    if (typeof echarts === "undefined") return;  // the numbers stay as text
    chart(id).setOption(option);
  }

  function volume(data, shown) {
    const total = data.handoffs_today;
    const busiest = shown.reduce((a, b) => (b.handoffs > (a ? a.handoffs : 0) ? b : a), null);
    const summary = total === 0 ? "今日还没有转人工。"
      : "今日转人工 " + total + " 个，超时 " + data.breaches_today + " 个，3分钟内响应占比 "
        + pctText(data.within_3min_share) + "。"
        + (busiest ? "最忙的时段 " + hhmm(busiest.start) + "（" + busiest.handoffs + " 个）。" : "");
    show("chart-volume", {
      ...base(summary),
      color: [C.accent, C.breach, C.ok],
      tooltip: { trigger: "axis", renderMode: "richText" },
      legend: { top: 0, data: ["转人工", "超时", "3分钟内响应占比"] },
      grid: { left: 48, right: 60, top: 40, bottom: 30 },
      xAxis: { type: "category", data: shown.map((b) => hhmm(b.start)), axisLabel: { hideOverlap: true } },
      yAxis: [
        { type: "value", name: "个", minInterval: 1 },
        { type: "value", name: "占比", min: 0, max: 100, axisLabel: { formatter: "{value}%" }, splitLine: { show: false } },
      ],
      series: [
        { name: "转人工", type: "bar", data: shown.map((b) => b.handoffs) },
        { name: "超时", type: "bar", data: shown.map((b) => b.breaches) },
        { name: "3分钟内响应占比", type: "line", yAxisIndex: 1, data: shown.map((b) => percent(b.within_3min_share)),
          symbolSize: 7, tooltip: { valueFormatter: (v) => (v === null || v === undefined ? "—" : v + "%") } },
      ],
    }, "sum-volume");
    const rows = shown.filter((b) => b.handoffs > 0).map((b) => el("tr", {},
      el("td", { text: hhmm(b.start) }), el("td", { text: String(b.handoffs) }),
      el("td", { text: b.within_3min + " 个（" + pctText(b.within_3min_share) + "）" }),
      el("td", { text: secsText(b.frt_p50_s) + " / " + secsText(b.frt_p90_s) }),
      el("td", { text: String(b.breaches) })));
    $("#buckets-table tbody").replaceChildren(...(rows.length ? rows
      : [el("tr", {}, el("td", { colspan: "5", class: "muted", text: "暂无" }))]));
  }

  function firstResponse(data, shown) {
    const late = shown.filter((b) => b.frt_p90_s !== null && b.frt_p90_s > BREACH_MIN * 60).map((b) => hhmm(b.start));
    const summary = data.first_response_p50_s === null ? "今日还没有首次响应。"
      : "今日首次响应 P50 " + secsText(data.first_response_p50_s) + "，P90 " + secsText(data.first_response_p90_s)
        + "（标准：3分钟内）。" + (late.length ? "P90 超过3分钟的时段：" + late.join("、") + "。" : "各时段 P90 都在3分钟内。");
    const line = (name, color) => ({ name, type: "line", symbolSize: 7, itemStyle: { color }, lineStyle: { color } });
    show("chart-frt", {
      ...base(summary),
      tooltip: { trigger: "axis", renderMode: "richText",
                 valueFormatter: (v) => (v === null || v === undefined ? "—" : v + " 分钟") },
      legend: { top: 0, data: ["P50 首次响应", "P90 首次响应"] },
      grid: { left: 48, right: 70, top: 40, bottom: 30 },
      xAxis: { type: "category", data: shown.map((b) => hhmm(b.start)), axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", name: "分钟", min: 0, max: (v) => Math.max(BREACH_MIN + 1, Math.ceil(v.max)) },
      series: [
        { ...line("P50 首次响应", C.accent), data: shown.map((b) => minutes(b.frt_p50_s)),
          markLine: { silent: true, symbol: "none", lineStyle: { color: C.breach, type: "dashed", width: 2 },
                      label: { formatter: "3分钟标准", position: "insideEndTop", color: C.breach },
                      data: [{ yAxis: BREACH_MIN }] } },
        { ...line("P90 首次响应", C.p90), data: shown.map((b) => minutes(b.frt_p90_s)) },
      ],
    }, "sum-frt");
  }

  /* A bar per row: the box grows with the rows (CSSOM, which the CSP allows) and the chart follows. */
  function fitHeight(id, rows) {
    const box = $("#" + id);
    const height = Math.max(160, 32 * rows + 72) + "px";
    if (box.style.height === height) return;
    box.style.height = height;
    if (charts[id]) charts[id].resize();
  }

  function counts(id, summaryId, items, label, what) {
    fitHeight(id, items.length);
    const summary = items.length ? what + "：" + items.map((i) => label(i.key) + " " + i.count + " 个").join("，") + "。"
      : what + "：今日暂无。";
    show(id, {
      ...base(summary),
      title: empty(items.length === 0),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
      grid: { left: 8, right: 40, top: 8, bottom: 24, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: items.map((i) => label(i.key)) },
      series: [{ name: "个数", type: "bar", data: items.map((i) => i.count), itemStyle: { color: C.accent },
                 label: { show: true, position: "right" }, barMaxWidth: 26 }],
    }, summaryId);
  }

  function agents(list) {
    const online = list.filter((a) => a.state === "online").length;
    const load = list.reduce((n, a) => n + a.load, 0);
    const cap = list.filter((a) => a.state === "online").reduce((n, a) => n + a.capacity, 0);
    const summary = list.length === 0 ? "还没有坐席。"
      : "坐席 " + list.length + " 人，在线 " + online + " 人；正在接待 " + load + " 个会话，在线容量 " + cap + " 个。";
    const name = (a) => (a.username || "#" + a.staff_id) + "（" + (STATE_LABEL[a.state] || a.state) + "）";
    fitHeight("chart-agents", list.length);
    show("chart-agents", {
      ...base(summary),
      title: empty(list.length === 0),
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
      legend: { top: 0, data: ["接待中", "空余"] },
      grid: { left: 8, right: 48, top: 32, bottom: 24, containLabel: true },
      xAxis: { type: "value", minInterval: 1 },
      yAxis: { type: "category", inverse: true, data: list.map(name) },
      series: [
        { name: "接待中", type: "bar", stack: "load", data: list.map((a) => a.load), barMaxWidth: 26,
          itemStyle: { color: (p) => (list[p.dataIndex] && list[p.dataIndex].state === "online" ? C.accent : C.away) } },
        { name: "空余", type: "bar", stack: "load", data: list.map((a) => Math.max(0, a.capacity - a.load)),
          itemStyle: { color: C.spare },
          label: { show: true, position: "right", color: C.ink,
                   formatter: (p) => (list[p.dataIndex] ? list[p.dataIndex].load + "/" + list[p.dataIndex].capacity : "") } },
      ],
    });
  }

  /* Draw (first call) or update (later calls) every chart from the dashboard API's answer. */
  function update(data) {
    timeZone = data.timezone;
    const shown = visibleBuckets(data.buckets);
    volume(data, shown);
    firstResponse(data, shown);
    agents(data.agents);
    counts("chart-reasons", "sum-reasons", data.reasons, reasonLabel, "今日转人工原因");
    counts("chart-intents", "sum-intents", data.top_intents, intentLabel, "转人工客户今日的热门意图");
  }

  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => { for (const c of Object.values(charts)) c.resize(); }, 150);
  });

  return { update, STATE_LABEL };
})();
