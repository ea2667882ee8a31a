/*
 * UDI scanner field: parses a GS1 barcode typed by a keyboard-wedge scanner
 * and fills the form.
 *
 * Usage: load this file after app.js and mark a text input:
 *
 *   <input type="text" name="udi" class="form-control" autocomplete="off"
 *          data-udi-scan
 *          data-udi-url="{% url 'api-udi-parse' %}"
 *          data-udi-fill='{"product": "#id_product", "lot_number": "#id_lot_number",
 *                          "production_date": "#id_production_date",
 *                          "expiry_date": "#id_expiry_date", "serial_number": "#id_serial_number"}'
 *          data-udi-require-product="false"
 *          data-udi-error-network="{% translate 'The barcode could not be checked: the server did not answer.' %}">
 *   <div class="invalid-feedback" data-udi-feedback></div>
 *
 * A barcode is parsed when the scanner ends it with Enter (which does not
 * submit the form) or Tab, when it is pasted, and when the field changes
 * and loses focus; a value already parsed is not parsed again. Parsing
 * POSTs {"barcode": value} to data-udi-url (the session cookie and the
 * CSRF token authenticate it) and copies the parsed fields into the inputs
 * that data-udi-fill names by CSS selector. Keys are the API's fields:
 * gtin, lot_number, production_date, expiry_date, serial_number, and
 * product, which sets a <select> (plain or Tom Select) to the product with
 * the scanned UDI-DI. A field the new barcode does not carry is cleared,
 * so that nothing of an earlier scan stays; data-udi-keep-missing="true"
 * keeps such fields instead. An error (400) is shown under the field in
 * the user's language, as the API returns it; an unknown UDI-DI is shown
 * as a warning, or as an error with data-udi-require-product="true", and a
 * product that may not be received or sold (the API's message_level
 * "error") as an error. With data-udi-unknown-note, choosing a product by
 * hand after a scan whose UDI-DI is unknown clears the field and shows
 * that note, because the barcode cannot be kept for another product. The
 * field keeps the raw barcode, so the form can store it. After each scan
 * the input fires "udi:parsed" with the API's response as event.detail, or
 * "udi:error" with {message}.
 *
 * On the outbound review, a scan field in a row <tr data-review-line
 * data-lot="…" data-gtin="…"> ticks the row and sets its result select to
 * "ok" when the scanned lot (or a plain lot label) equals data-lot and a
 * scanned GTIN (AI 01) equals data-gtin, and to "unmatched" otherwise.
 */
(function () {
  "use strict";

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    if (input) return input.value;
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (error) {
      return "";
    }
  }

  function feedbackFor(input) {
    var feedback = input.parentElement && input.parentElement.querySelector("[data-udi-feedback]");
    if (!feedback) {
      feedback = document.createElement("div");
      feedback.setAttribute("data-udi-feedback", "");
      input.insertAdjacentElement("afterend", feedback);
    }
    return feedback;
  }

  function show(input, kind, text) {
    var feedback = feedbackFor(input);
    input.classList.remove("is-invalid", "is-valid");
    feedback.className = "small d-block";
    if (kind === "error") {
      input.classList.add("is-invalid");
      feedback.classList.add("invalid-feedback");
    } else if (kind === "warning") {
      feedback.classList.add("text-warning-emphasis");
    } else {
      input.classList.add("is-valid");
      feedback.classList.add("valid-feedback");
    }
    feedback.textContent = text;
    feedback.setAttribute("data-udi-state", kind);
  }

  function setValue(target, value, label) {
    if (target.tomselect) {
      var select = target.tomselect;
      if (!select.options[value]) {
        var option = {};
        option[select.settings.valueField] = value;
        option[select.settings.labelField] = label || value;
        select.addOption(option);
      }
      select.setValue(String(value));
      return;
    }
    if (target.tagName === "SELECT" && !target.querySelector('option[value="' + value + '"]')) {
      target.add(new Option(label || value, value));
    }
    target.value = value;
    target.dispatchEvent(new Event("input", { bubbles: true }));
    target.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function clearValue(target) {
    if (target.tomselect) {
      target.tomselect.clear();
      return;
    }
    if (target.value === "") return;
    target.value = "";
    target.dispatchEvent(new Event("input", { bubbles: true }));
    target.dispatchEvent(new Event("change", { bubbles: true }));
  }

  function fillMapping(input) {
    try {
      return JSON.parse(input.dataset.udiFill || "{}");
    } catch (error) {
      return {};
    }
  }

  function fill(input, data) {
    var mapping = fillMapping(input);
    var keepMissing = input.dataset.udiKeepMissing === "true";
    input.udiFilling = true;
    try {
      Object.keys(mapping).forEach(function (field) {
        var target = document.querySelector(mapping[field]);
        if (!target) return;
        if (field === "product") {
          if (data.product) {
            setValue(target, String(data.product.id), [data.product.sku, data.product.name, data.product.specification].filter(Boolean).join(" "));
          } else if (!keepMissing) {
            clearValue(target);
          }
          return;
        }
        if (data[field] !== null && data[field] !== undefined && data[field] !== "") {
          setValue(target, data[field]);
        } else if (!keepMissing) {
          clearValue(target);
        }
      });
    } finally {
      input.udiFilling = false;
    }
  }

  // After a scan whose UDI-DI no product has, a product chosen by hand cannot carry that barcode:
  // the receipt would refuse it, so the field is cleared and the note says why.
  function watchManualProduct(input) {
    if (!input.dataset.udiUnknownNote || input.udiWatchingProduct) return;
    var selector = fillMapping(input).product;
    var target = selector && document.querySelector(selector);
    if (!target) return;
    input.udiWatchingProduct = true;
    target.addEventListener("change", function () {
      if (input.udiFilling || !input.dataset.udiUnknownGtin || !target.value) return;
      delete input.dataset.udiUnknownGtin;
      input.value = "";
      input.udiLastParsed = "";
      show(input, "warning", input.dataset.udiUnknownNote);
    });
  }

  function summary(data) {
    return "✓ " + [data.gtin, data.product && data.product.name, data.lot_number, data.serial_number, data.expiry_date]
      .filter(Boolean)
      .join(" · ");
  }

  function parse(input) {
    var barcode = input.value;
    if (!barcode.trim() || barcode === input.udiLastParsed) return;
    input.udiLastParsed = barcode;
    input.setAttribute("aria-busy", "true");
    fetch(input.dataset.udiUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrfToken(), Accept: "application/json" },
      body: JSON.stringify({ barcode: barcode, require_known_product: input.dataset.udiRequireProduct === "true" })
    })
      .then(function (response) {
        return response.json().then(function (body) { return { ok: response.ok, body: body }; });
      })
      .then(function (result) {
        if (!result.ok) {
          var message = result.body.detail || input.dataset.udiErrorNetwork || "";
          show(input, "error", message);
          input.dispatchEvent(new CustomEvent("udi:error", { bubbles: true, detail: { message: message } }));
          return;
        }
        fill(input, result.body);
        if (result.body.gtin && !result.body.product) {
          input.dataset.udiUnknownGtin = result.body.gtin;
          watchManualProduct(input);
        } else {
          delete input.dataset.udiUnknownGtin;
        }
        if (result.body.message) {
          show(input, result.body.message_level === "error" ? "error" : "warning", result.body.message);
        } else {
          show(input, "ok", summary(result.body));
        }
        input.dispatchEvent(new CustomEvent("udi:parsed", { bubbles: true, detail: result.body }));
      })
      .catch(function () {
        var message = input.dataset.udiErrorNetwork || "";
        show(input, "error", message);
        input.dispatchEvent(new CustomEvent("udi:error", { bubbles: true, detail: { message: message } }));
      })
      .finally(function () {
        input.removeAttribute("aria-busy");
      });
  }

  function attach(root) {
    root.querySelectorAll("input[data-udi-scan]").forEach(function (input) {
      if (input.dataset.udiReady) return;
      input.dataset.udiReady = "1";
      input.addEventListener("keydown", function (event) {
        if (event.key === "Enter") {
          event.preventDefault();
          parse(input);
        } else if (event.key === "Tab") {
          // A scanner set to end with Tab moves the focus on; the scan is complete, so parse it now.
          parse(input);
        }
      });
      // Typing or a new scan makes the value new again, so the same barcode may be parsed once more.
      input.addEventListener("input", function () { input.udiLastParsed = ""; });
      // The pasted text is in the field only after the paste event.
      input.addEventListener("paste", function () { setTimeout(function () { parse(input); }, 0); });
      input.addEventListener("change", function () { parse(input); });
    });
  }

  function sameGtin(first, second) {
    return String(first || "").replace(/^0+/, "") === String(second || "").replace(/^0+/, "");
  }

  // Outbound review: decide from the scan whether it names the row's product and lot, and tick the row either way.
  function matchReviewLine(input, detail, failed) {
    var row = input.closest("tr[data-review-line]");
    if (!row || !row.hasAttribute("data-gtin")) return;
    var raw = input.value.trim();
    if (!raw) return;
    var expectedLot = row.dataset.lot || "";
    var expectedGtin = row.dataset.gtin || "";
    var problems = [];
    var lotNumber = failed ? raw : detail.lot_number || "";
    if (!failed && detail.gtin) {
      if (expectedGtin && !sameGtin(detail.gtin, expectedGtin)) problems.push(detail.gtin + " ≠ " + expectedGtin);
    }
    if (lotNumber !== expectedLot) problems.push((lotNumber || "—") + " ≠ " + expectedLot);
    var matches = problems.length === 0;
    var checkbox = row.querySelector("input[type=checkbox]");
    if (checkbox) checkbox.checked = true;
    var result = row.querySelector("select");
    if (result) result.value = matches ? "ok" : "unmatched";
    var feedback = feedbackFor(input);
    input.classList.remove("is-invalid", "is-valid");
    feedback.className = "small d-block";
    if (matches) {
      input.classList.add("is-valid");
      feedback.classList.add("valid-feedback");
      feedback.textContent = "✓ " + [detail && detail.gtin, expectedLot].filter(Boolean).join(" · ");
      feedback.setAttribute("data-udi-state", "ok");
    } else {
      input.classList.add("is-invalid");
      feedback.classList.add("invalid-feedback");
      feedback.textContent = "✗ " + problems.join(" · ");
      feedback.setAttribute("data-udi-state", "error");
    }
    row.setAttribute("data-scan-match", matches ? "ok" : "unmatched");
  }

  // Listening on the document runs after listeners on the form, so this decision is the one that stays.
  document.addEventListener("udi:parsed", function (event) { matchReviewLine(event.target, event.detail, false); });
  document.addEventListener("udi:error", function (event) { matchReviewLine(event.target, event.detail, true); });
  document.addEventListener("DOMContentLoaded", function () { attach(document); });
  document.addEventListener("htmx:afterSwap", function (event) { attach(event.target); });
  window.udiScan = { attach: attach, parse: parse };
})();
