// The on-site scan: the phone's camera reads the room's printed QR and submits it.
// BarcodeDetector where the browser has it; jsQR (served with this app) everywhere else.
(function () {
  "use strict";

  function start(button) {
    var section = button.closest("section");
    var box = section.querySelector(".scanner");
    var video = box.querySelector("video");
    var canvas = box.querySelector("canvas");
    var status = section.querySelector("[data-scan-status]");
    var form = section.querySelector("[data-scan-form]");
    var input = form.querySelector("input[name=code]");
    var detector = null;
    var stream = null;
    var done = false;

    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      status.textContent = "No camera here: type the code printed under the QR.";
      return;
    }
    if ("BarcodeDetector" in window) {
      try { detector = new window.BarcodeDetector({ formats: ["qr_code"] }); } catch (e) { detector = null; }
    }

    function stop() {
      done = true;
      if (stream) { stream.getTracks().forEach(function (t) { t.stop(); }); }
      box.hidden = true;
      button.stopScan = null;
      button.textContent = "Scan the room QR";
    }

    function found(text) {
      if (done || !text || text.indexOf("GHROOM.") !== 0) { return false; }
      stop();
      input.value = text;
      status.textContent = "Code read: checking…";
      form.requestSubmit ? form.requestSubmit() : form.submit();
      return true;
    }

    function tick() {
      if (done) { return; }
      if (video.readyState < 2) { requestAnimationFrame(tick); return; }
      if (detector) {
        detector.detect(video).then(function (codes) {
          if (!codes.some(function (c) { return found(c.rawValue); })) { setTimeout(tick, 150); }
        }, function () { detector = null; setTimeout(tick, 150); });
        return;
      }
      if (typeof window.jsQR !== "function") { status.textContent = "The QR reader did not load: type the code."; return; }
      canvas.width = video.videoWidth; canvas.height = video.videoHeight;
      var ctx = canvas.getContext("2d", { willReadFrequently: true });
      ctx.drawImage(video, 0, 0, canvas.width, canvas.height);
      var image = ctx.getImageData(0, 0, canvas.width, canvas.height);
      var result = window.jsQR(image.data, image.width, image.height, { inversionAttempts: "dontInvert" });
      if (!(result && found(result.data))) { setTimeout(tick, 200); }
    }

    navigator.mediaDevices.getUserMedia({ video: { facingMode: "environment" }, audio: false }).then(function (s) {
      stream = s;
      video.srcObject = s;
      box.hidden = false;
      status.textContent = "Point the camera at the room's QR.";
      button.textContent = "Stop scanning";
      button.stopScan = stop;
      video.play().then(tick, tick);
    }, function () {
      status.textContent = "The camera is not available: type the code printed under the QR.";
    });
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-scan]");
    if (!button) { return; }
    if (button.stopScan) { button.stopScan(); } else { start(button); }
  });
})();
