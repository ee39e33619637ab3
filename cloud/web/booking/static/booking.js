// Draws each confirmed booking's rotating code (protos/codes.py) and its QR, with no network.
(function () {
  "use strict";
  var ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

  function base32(bytes) {
    var out = "", bits = 0, value = 0;
    for (var i = 0; i < bytes.length; i++) {
      value = (value << 8) | bytes[i];
      bits += 8;
      while (bits >= 5) {
        out += ALPHABET[(value >>> (bits - 5)) & 31];
        bits -= 5;
      }
    }
    if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
    return out;
  }

  function fromBase64(text) {
    var raw = atob(text), bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  async function draw(el, data, minute) {
    var fields = ["GH1", data.store, String(data.version), data.ref, data.room,
                  String(data.start_min), String(data.end_min), String(minute)];
    var key = await crypto.subtle.importKey("raw", fromBase64(data.key),
                                            {name: "HMAC", hash: "SHA-256"}, false, ["sign"]);
    var sig = await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(fields.join("|")));
    var code = fields.join(".") + "." + base32(new Uint8Array(sig).slice(0, 16));
    var qr = qrcode(0, "M");
    qr.addData(code);
    qr.make();
    el.querySelector(".qr-img").innerHTML = qr.createSvgTag({cellSize: 4, margin: 2, scalable: true});
    var text = el.querySelector(".code-text");
    text.textContent = code;
    text.dataset.minute = String(minute);
  }

  var boxes = Array.prototype.slice.call(document.querySelectorAll(".qr[data-code]"));
  var drawn = -1;
  function tick() {
    var minute = Math.floor(Date.now() / 60000);
    if (minute === drawn) return;
    drawn = minute;
    boxes.forEach(function (el) {
      draw(el, JSON.parse(el.dataset.code), minute).catch(function (err) {
        el.querySelector(".code-text").textContent = "cannot draw the code: " + err;
      });
    });
  }
  tick();
  setInterval(tick, 1000);
})();
