// "My security keys": reload once django-otp-webauthn reports a registered key,
// so the list shows it (the server adds a confirmation message for that page).
document.addEventListener("otp_webauthn.register_complete", () => {
  window.location.reload();
});
