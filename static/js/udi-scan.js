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
 * The scanner ends each scan with Enter. Enter does not submit the form;
 * it POSTs {"barcode": value} to data-udi-url (the session cookie and the
 * CSRF token authenticate it) and copies the parsed fields into the inputs
 * that data-udi-fill names by CSS selector. Keys are the API's fields:
 * gtin, lot_number, production_date, expiry_date, serial_number, and
 * product, which sets a <select> (plain or Tom Select) to the product with
 * the scanned UDI-DI. An error (400) is shown under the field in the
 * user's language, as the API returns it; an unknown UDI-DI is shown as a
 * warning, or as an error with data-udi-require-product="true". The field
 * keeps the raw barcode, so the form can store it. After each scan the
 * input fires "udi:parsed" with the API's response as event.detail, or
 * "udi:error" with {message}.
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

  function fill(input, data) {
    var mapping = {};
    try {
      mapping = JSON.parse(input.dataset.udiFill || "{}");
    } catch (error) {
      return;
    }
    Object.keys(mapping).forEach(function (field) {
      var target = document.querySelector(mapping[field]);
      if (!target) return;
      if (field === "product") {
        if (data.product) {
          setValue(target, String(data.product.id), [data.product.sku, data.product.name, data.product.specification].filter(Boolean).join(" "));
        }
        return;
      }
      if (data[field] !== null && data[field] !== undefined && data[field] !== "") setValue(target, data[field]);
    });
  }

  function summary(data) {
    return "✓ " + [data.gtin, data.product && data.product.name, data.lot_number, data.serial_number, data.expiry_date]
      .filter(Boolean)
      .join(" · ");
  }

  function parse(input) {
    var barcode = input.value;
    if (!barcode.trim()) return;
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
        if (result.body.message) {
          show(input, "warning", result.body.message);
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
        if (event.key !== "Enter") return;
        event.preventDefault();
        parse(input);
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () { attach(document); });
  document.addEventListener("htmx:afterSwap", function (event) { attach(event.target); });
  window.udiScan = { attach: attach, parse: parse };
})();
