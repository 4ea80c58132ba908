// lookalike's only script: drag and drop for uploads, live job progress, local times. No library, no CDN.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Drop a file on the upload zone: it fills the file input (the form still submits normally).
  const zone = document.getElementById("dropzone");
  const input = document.getElementById("file");
  if (zone && input) {
    const label = zone.querySelector("span");
    const show = () => { if (input.files.length) label.textContent = "Ready: " + input.files[0].name; };
    input.addEventListener("change", show);
    ["dragenter", "dragover"].forEach(e => zone.addEventListener(e, ev => { ev.preventDefault(); zone.classList.add("over"); }));
    ["dragleave", "drop"].forEach(e => zone.addEventListener(e, () => zone.classList.remove("over")));
    zone.addEventListener("drop", ev => {
      ev.preventDefault();
      if (ev.dataTransfer && ev.dataTransfer.files.length) { input.files = ev.dataTransfer.files; show(); }
    });
  }

  // Times stored as Unix seconds, shown in the reader's own time zone.
  document.querySelectorAll(".when[data-time]").forEach(el => {
    el.textContent = new Date(parseFloat(el.dataset.time) * 1000).toLocaleString();
  });

  // A job page polls its status until the job finishes, then reloads to show the result.
  const job = document.getElementById("job");
  if (job && ["queued", "running"].includes(job.dataset.status)) {
    const $ = id => document.getElementById(id);
    const secs = s => (s === null || s === undefined) ? "–" : Math.round(s) + " s";
    const poll = async () => {
      let j;
      try {
        const r = await fetch("/jobs/" + job.dataset.job + "/status", {credentials: "same-origin"});
        if (!r.ok) throw new Error(r.status);
        j = await r.json();
      } catch (e) { setTimeout(poll, 1000); return; }
      $("bar").value = j.progress;
      $("percent").textContent = Math.round(j.progress * 100) + "%";
      $("status").textContent = j.status;
      $("status").className = "status-" + j.status;
      $("message").textContent = j.message;
      $("elapsed").textContent = secs(j.elapsed);
      $("remaining").textContent = j.remaining === null ? "–" : "about " + secs(j.remaining);
      $("loss").textContent = j.loss === null ? "–" : j.loss.toFixed(4);
      if (["queued", "running"].includes(j.status)) setTimeout(poll, 500);
      else window.location.reload();
    };
    setTimeout(poll, 300);
  }
});
