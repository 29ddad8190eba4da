// Sends the form to the backend, which asks the model; shows the probability of churn.
document.getElementById("score-form").addEventListener("submit", function (event) {
  event.preventDefault();
  var body = Object.fromEntries(new FormData(event.target));
  fetch(getWebAppBackendUrl("score"), { method: "POST", body: JSON.stringify(body) })
    .then(function (r) { return r.json(); })
    .then(function (answer) { document.getElementById("score").textContent = "Churn probability: " + answer.probability; });
});
