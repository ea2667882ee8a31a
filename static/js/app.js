// Turn every <select data-tom-select> into a searchable Tom Select; a
// data-url attribute loads options from a JSON endpoint as the user types.
function initTomSelect(root) {
  root.querySelectorAll("select[data-tom-select]").forEach(function (el) {
    if (el.tomselect) return;
    // The blank option stays unselectable so that the placeholder shows.
    var noResults = document.body.dataset.noResults || "";
    var options = {
      maxOptions: 50,
      allowEmptyOption: false,
      render: {
        no_results: function (data, escape) { return '<div class="no-results">' + escape(noResults) + "</div>"; }
      }
    };
    if (el.dataset.url) {
      options.valueField = "id";
      options.labelField = "text";
      options.searchField = ["text", "search"];
      // The server already matched the query (pinyin, initials, mobile
      // numbers); filtering again in the browser would hide its results, and
      // options kept from an earlier query would hide the new ones.
      options.score = function () { return function () { return 1; }; };
      options.sortField = [{ field: "$order" }, { field: "$score" }];
      options.load = function (query, callback) {
        var select = this;
        fetch(el.dataset.url + "?q=" + encodeURIComponent(query), { credentials: "same-origin" })
          .then(function (r) { return r.json(); })
          .then(function (data) {
            select.clearOptions();
            select.loadedSearches = {};
            select.loadedSearches[query] = true;
            callback(data.results);
          })
          .catch(function () { callback(); });
      };
    }
    new TomSelect(el, options);
  });
}
document.addEventListener("DOMContentLoaded", function () { initTomSelect(document); });
document.body && document.body.addEventListener("htmx:afterSwap", function (e) { initTomSelect(e.target); });

// A second click on a submit button, or Enter pressed twice, must not post a
// form twice. The server keeps its own guards; this spares the user an error.
// The flag clears after a few seconds, because forms that download a file
// leave the page where it is.
var RESUBMIT_DELAY_MS = 5000;
document.addEventListener("submit", function (e) {
  var form = e.target;
  if (e.defaultPrevented || (form.getAttribute("method") || "get").toLowerCase() !== "post") return;
  if (form.hasAttribute("hx-post") || form.hasAttribute("data-allow-resubmit")) return;
  if (form.dataset.submitting === "1") {
    e.preventDefault();
    return;
  }
  form.dataset.submitting = "1";
  form.setAttribute("aria-busy", "true");
  setTimeout(function () {
    delete form.dataset.submitting;
    form.removeAttribute("aria-busy");
  }, RESUBMIT_DELAY_MS);
});
// Pages restored from the back-forward cache keep the flag; clear it.
window.addEventListener("pageshow", function () {
  document.querySelectorAll("form[data-submitting]").forEach(function (form) {
    delete form.dataset.submitting;
    form.removeAttribute("aria-busy");
  });
});
