// The accounts table: after htmx swaps in another page of it, keep the keyboard's place
// (focus on the table's region when the link that had focus was swapped away).
document.addEventListener("htmx:after:swap", function () {
  var region = document.querySelector("#accounts-table .table-scroll");
  if (region && (document.activeElement === document.body || !document.activeElement)) {
    region.focus();
  }
});
