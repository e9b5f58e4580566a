// The new token's "Copy" button (templates/api/tokens.html). Without JavaScript the
// token stays in a read-only field, to select and copy by hand.

const field = document.querySelector('[data-js="token-text"]');
const button = document.querySelector('[data-js="token-copy"]');
const status = document.querySelector('[data-js="token-copied"]');

async function copyToken() {
  try {
    await navigator.clipboard.writeText(field.value);
    status.textContent = "Copied.";
  } catch {
    // No clipboard (an insecure page, or permission refused): select it for the keyboard.
    field.select();
    status.textContent = "Press Ctrl+C (⌘C on a Mac) to copy it.";
  }
}

if (field && button && status) {
  button.hidden = false;
  button.addEventListener("click", copyToken);
  field.addEventListener("focus", () => field.select());
}
